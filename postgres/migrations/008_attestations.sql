-- Issued attestations, same shape as the SQLite store: what GET /verify/{code} answers with. code is
-- the short verification code printed on the document; summary is the signed public summary
-- (attest.Summary's JSON), kept as the exact bytes that were signed: bytea, not jsonb, which would
-- reorder keys and drop whitespace and so break the signature a verifier checks. The document itself
-- is not kept: it can be issued again. revoked and reason are NULL until the attestation is revoked;
-- a second revocation keeps the first.
--
-- Erasure: EraseEmployee leaves these rows alone. They hold no personal data: internal ids, the kind,
-- the dates and a summary that names only the employer (a salary attestation's summary carries no
-- figure at all), so there is nothing to destroy; employee_id stays valid because an erased person's
-- row and internal id are kept.
CREATE TABLE attestations (
	code        text PRIMARY KEY,
	kind        text NOT NULL,
	employer_id bigint NOT NULL REFERENCES employers(id),
	employee_id bigint REFERENCES employees(id), -- NULL but for a salary attestation
	summary     bytea NOT NULL,
	issued      text NOT NULL, -- RFC 3339, UTC
	expires     text NOT NULL, -- RFC 3339, UTC
	revoked     text,          -- RFC 3339, UTC
	reason      text
);
CREATE INDEX attestations_employer ON attestations(employer_id);
