-- Store-wide settings. index_key_version: the blind-index key version every *_bidx and name_index
-- entry is computed with (amane keys reindex changes it in the same transaction as the indexes).
CREATE TABLE settings (
	name  text PRIMARY KEY,
	value text NOT NULL
);
