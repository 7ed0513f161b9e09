-- Per-person erasures (crypto-shredding): who, when, why. The person's key, ciphertext and blind
-- indexes are gone; this row and the internal id remain. The index lets rotation walk one version.
CREATE TABLE erasures (
	employee_id INTEGER PRIMARY KEY REFERENCES employees(id),
	at          TEXT NOT NULL,
	by_         TEXT NOT NULL,
	reason      TEXT NOT NULL
);
CREATE INDEX data_keys_version ON data_keys(kek_version, kind, subject_id);
