-- The access journal (package journal): entries as the exact bytes hashed, the Merkle tree's stored
-- hashes in tlog's layout, and the signed checkpoints. Rows are only ever appended.
CREATE TABLE journal_entries (
	idx   INTEGER PRIMARY KEY,
	entry BLOB NOT NULL
);
CREATE TABLE journal_hashes (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
);
CREATE TABLE journal_checkpoints (
	size   INTEGER PRIMARY KEY,
	signed BLOB NOT NULL
);
