-- Access: accounts, their passkeys and integration tokens. Logins are handles chosen at creation,
-- never a name or an identifier; an insured person's account names their record by internal id
-- (employee_id, 0 for none). Secrets are kept only as hashes (password_hash: Argon2id PHC string;
-- tokens.hash: SHA-256 of the token) or sealed (totp).
CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	login         TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	agency        TEXT NOT NULL DEFAULT '',
	affiliation   TEXT NOT NULL DEFAULT '',
	employee_id   INTEGER NOT NULL DEFAULT 0,
	password_hash TEXT NOT NULL,
	totp          BLOB,
	created       TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_employee ON accounts(employee_id);

-- WebAuthn credentials: the credential id and the relying party's JSON of the credential (public
-- key, sign count), no secret.
CREATE TABLE passkeys (
	id         BLOB PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id),
	credential BLOB NOT NULL,
	created    TEXT NOT NULL
);
CREATE INDEX passkeys_account ON passkeys(account_id);

CREATE TABLE tokens (
	id          INTEGER PRIMARY KEY,
	hash        BLOB NOT NULL UNIQUE,
	role        TEXT NOT NULL,
	agency      TEXT NOT NULL DEFAULT '',
	affiliation TEXT NOT NULL DEFAULT '',
	employee_id INTEGER NOT NULL DEFAULT 0,
	label       TEXT NOT NULL DEFAULT '',
	created     TEXT NOT NULL,
	expires     TEXT NOT NULL,
	revoked     INTEGER NOT NULL DEFAULT 0
);

-- A journal entry's record reference ("employee/42"; NULL for none), so that a person's entries are
-- found through the index instead of by reading the whole journal.
ALTER TABLE journal_entries ADD COLUMN record TEXT;
CREATE INDEX journal_entries_record ON journal_entries(record, idx);
