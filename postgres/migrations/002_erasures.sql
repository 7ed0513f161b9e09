-- Per-person erasures (crypto-shredding): who, when, why. The person's key, ciphertext and blind
-- indexes are gone; this row and the internal id remain.
CREATE TABLE erasures (
	employee_id bigint PRIMARY KEY REFERENCES employees(id),
	at          text NOT NULL,
	by_         text NOT NULL,
	reason      text NOT NULL
);
