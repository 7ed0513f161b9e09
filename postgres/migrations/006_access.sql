-- Access: accounts, their passkeys and integration tokens. Logins are handles chosen at creation,
-- never a name or an identifier; an insured person's account names their record by internal id
-- (employee_id, 0 for none). Secrets are kept only as hashes (password_hash: Argon2id PHC string;
-- tokens.hash: SHA-256 of the token) or sealed (totp). Same shape as the SQLite store.
CREATE TABLE accounts (
	id            bigint PRIMARY KEY,
	login         text NOT NULL CONSTRAINT accounts_login_key UNIQUE,
	role          text NOT NULL,
	agency        text NOT NULL DEFAULT '',
	affiliation   text NOT NULL DEFAULT '',
	employee_id   bigint NOT NULL DEFAULT 0,
	password_hash text NOT NULL,
	totp          bytea,
	created       text NOT NULL,
	disabled      boolean NOT NULL DEFAULT false
);
CREATE INDEX accounts_employee ON accounts(employee_id);

-- WebAuthn credentials: the credential id and the relying party's JSON of the credential (public
-- key, sign count), no secret.
CREATE TABLE passkeys (
	id         bytea CONSTRAINT passkeys_pkey PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES accounts(id),
	credential bytea NOT NULL,
	created    text NOT NULL
);
CREATE INDEX passkeys_account ON passkeys(account_id);

CREATE TABLE tokens (
	id          bigint PRIMARY KEY,
	hash        bytea NOT NULL CONSTRAINT tokens_hash_key UNIQUE,
	role        text NOT NULL,
	agency      text NOT NULL DEFAULT '',
	affiliation text NOT NULL DEFAULT '',
	employee_id bigint NOT NULL DEFAULT 0,
	label       text NOT NULL DEFAULT '',
	created     text NOT NULL,
	expires     text NOT NULL,
	revoked     boolean NOT NULL DEFAULT false
);

-- A journal entry's record reference ("employee/42"; NULL for none), so that a person's entries are
-- found through the index instead of by reading the whole journal.
ALTER TABLE journal_entries ADD COLUMN record text;
CREATE INDEX journal_entries_record ON journal_entries(record, idx);
