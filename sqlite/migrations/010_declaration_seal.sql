-- A declaration's seal: the gate's keyed MAC over its non-personal figures (employer, period, seq,
-- status, received, digest, header, totals, contributions), checked on every read that shows or
-- signs them, so that an edit of headcount or payroll in the store is an integrity error rather than
-- a figure an attestation signs. NULL on rows written before this migration: the gate seals them
-- after checking them against their sealed lines (gate.SealLegacyDeclarations), and refuses them
-- until then. A partial index finds those few rows without scanning the table.
ALTER TABLE declarations ADD COLUMN seal BLOB;
CREATE INDEX declarations_unsealed ON declarations(id) WHERE seal IS NULL;
