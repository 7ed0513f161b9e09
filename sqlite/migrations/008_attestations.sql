-- Issued attestations: what GET /verify/{code} answers with. code is the short verification code
-- printed on the document; summary is the signed public summary (attest.Summary's JSON), kept as the
-- exact bytes that were signed (a BLOB, never re-encoded: a verifier checks the signature over them).
-- The document itself is not kept: it can be issued again. revoked and reason are NULL until the
-- attestation is revoked; a second revocation keeps the first.
--
-- Erasure: EraseEmployee leaves these rows alone. They hold no personal data: internal ids, the kind,
-- the dates and a summary that names only the employer (a salary attestation's summary carries no
-- figure at all), so there is nothing to destroy; employee_id stays valid because an erased person's
-- row and internal id are kept.
CREATE TABLE attestations (
	code        TEXT NOT NULL PRIMARY KEY, -- NOT NULL: SQLite lets a non-integer primary key hold NULL
	kind        TEXT NOT NULL,
	employer_id INTEGER NOT NULL REFERENCES employers(id),
	employee_id INTEGER REFERENCES employees(id), -- NULL but for a salary attestation
	summary     BLOB NOT NULL,
	issued      TEXT NOT NULL, -- RFC 3339, UTC
	expires     TEXT NOT NULL, -- RFC 3339, UTC
	revoked     TEXT,          -- RFC 3339, UTC
	reason      TEXT
);
CREATE INDEX attestations_employer ON attestations(employer_id);
