-- Name words by person: an update, an erasure or a reindex replaces one person's words, which
-- without this index is a scan of every word of the registry (found at 1,000,000 people, where a
-- reindex had not finished after 10 minutes).
CREATE INDEX name_index_employee ON name_index(employee_id);
