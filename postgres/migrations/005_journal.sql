-- The access journal (package journal): entries as the exact bytes hashed, the Merkle tree's stored
-- hashes in tlog's layout, and the signed checkpoints. Rows are only ever appended.
CREATE TABLE journal_entries (
	idx   bigint PRIMARY KEY,
	entry bytea NOT NULL
);
CREATE TABLE journal_hashes (
	idx  bigint PRIMARY KEY,
	hash bytea NOT NULL
);
CREATE TABLE journal_checkpoints (
	size   bigint PRIMARY KEY,
	signed bytea NOT NULL
);
