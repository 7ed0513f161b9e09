-- Kept in step with the SQLite store's numbering; PostgreSQL has had this index since 001.
CREATE INDEX IF NOT EXISTS name_index_employee ON name_index(employee_id);
