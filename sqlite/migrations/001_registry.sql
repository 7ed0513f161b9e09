-- The registry. Personal fields are BLOBs of ciphertext (vault field format); *_bidx columns are keyed
-- blind indexes; everything in clear is non-personal business data.
CREATE TABLE agencies (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	city TEXT NOT NULL DEFAULT ''
);

CREATE TABLE employers (
	id                   INTEGER PRIMARY KEY,
	affiliation          TEXT NOT NULL UNIQUE,
	raison_sociale       TEXT NOT NULL,
	activite             TEXT NOT NULL,
	adresse              TEXT NOT NULL,
	ville                TEXT NOT NULL,
	date_adhesion        TEXT NOT NULL,
	date_affiliation     TEXT NOT NULL,
	ice                  TEXT NOT NULL,
	rc                   TEXT NOT NULL,
	tp                   TEXT NOT NULL,
	if_                  TEXT NOT NULL,
	forme_juridique      TEXT NOT NULL,
	agence               TEXT NOT NULL REFERENCES agencies(code),
	etat_compte          TEXT NOT NULL,
	mode_telepaiement    TEXT NOT NULL,
	code_banque          TEXT NOT NULL,
	date_creation_compte TEXT NOT NULL,
	rep_nom              BLOB,
	rep_prenom           BLOB,
	rep_cin              BLOB,
	email                BLOB,
	telephone            BLOB,
	rib                  BLOB,
	mandataire           BLOB,
	rep_cin_bidx         BLOB,
	email_bidx           BLOB,
	rib_bidx             BLOB
);
CREATE INDEX employers_agence ON employers(agence);
CREATE INDEX employers_rep_cin_bidx ON employers(rep_cin_bidx);
CREATE INDEX employers_email_bidx ON employers(email_bidx);
CREATE INDEX employers_rib_bidx ON employers(rib_bidx);

CREATE TABLE employees (
	id               INTEGER PRIMARY KEY,
	date_affiliation TEXT NOT NULL,
	imm              BLOB NOT NULL,
	cin              BLOB,
	passeport        BLOB,
	nom              BLOB NOT NULL,
	prenom           BLOB NOT NULL,
	imm_bidx         BLOB NOT NULL UNIQUE,
	cin_bidx         BLOB,
	passeport_bidx   BLOB
);
-- Partial: most people have a CIN and no passport, and NULLs need no index entry.
CREATE UNIQUE INDEX employees_cin_bidx ON employees(cin_bidx) WHERE cin_bidx IS NOT NULL;
CREATE UNIQUE INDEX employees_passeport_bidx ON employees(passeport_bidx) WHERE passeport_bidx IS NOT NULL;

-- One blind index per word of an insured person's names: search that forgives case and accents.
CREATE TABLE name_index (
	word        BLOB NOT NULL,
	employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
	PRIMARY KEY (word, employee_id)
) WITHOUT ROWID;

CREATE TABLE employments (
	employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
	employer_id INTEGER NOT NULL REFERENCES employers(id),
	since       TEXT NOT NULL,
	state       TEXT NOT NULL,
	PRIMARY KEY (employee_id, employer_id)
) WITHOUT ROWID;
CREATE INDEX employments_employer ON employments(employer_id, employee_id);

-- Wrapped data keys, one per subject (kind 1 = employer, 2 = employee). Kept apart from the data so
-- that erasing a subject is deleting one row, and rotation rewraps these rows only.
CREATE TABLE data_keys (
	kind        INTEGER NOT NULL,
	subject_id  INTEGER NOT NULL,
	kek_version INTEGER NOT NULL,
	wrapped     BLOB NOT NULL,
	PRIMARY KEY (kind, subject_id)
) WITHOUT ROWID;

-- Operator bearer tokens (until accounts arrive): SHA-256 of a 256-bit random token, never the token.
CREATE TABLE operator_tokens (
	hash    BLOB PRIMARY KEY,
	label   TEXT NOT NULL,
	created TEXT NOT NULL
);
