-- The sentinel's alerts (amane.SecurityAlert), for the security console: one row per response taken
-- about a principal. No personal data: principal ids, the signal, and evidence made of counts,
-- windows and internal record references. lifted and lifted_by are NULL until a security officer
-- lifts the principal's responses.
CREATE TABLE security_alerts (
	id        INTEGER PRIMARY KEY,
	time      TEXT NOT NULL,
	principal TEXT NOT NULL,
	response  TEXT NOT NULL,
	signal    TEXT NOT NULL,
	evidence  TEXT NOT NULL,
	journal   INTEGER NOT NULL,
	lifted    TEXT,
	lifted_by TEXT
);
CREATE INDEX security_alerts_open ON security_alerts(principal) WHERE lifted IS NULL;

-- A token issued to an account acts as that account (amane.Token.AccountID; 0: an integration's own
-- token): suspending the account revokes it.
ALTER TABLE tokens ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
