-- The registry. Personal fields are bytea ciphertext (vault field format); *_bidx columns are keyed
-- blind indexes; everything in clear is non-personal business data. Same shape as the SQLite store.
CREATE TABLE agencies (
	code text PRIMARY KEY,
	name text NOT NULL,
	city text NOT NULL DEFAULT ''
);

CREATE TABLE employers (
	id                   bigint PRIMARY KEY,
	affiliation          text NOT NULL CONSTRAINT employers_affiliation_key UNIQUE,
	raison_sociale       text NOT NULL,
	activite             text NOT NULL,
	adresse              text NOT NULL,
	ville                text NOT NULL,
	date_adhesion        text NOT NULL,
	date_affiliation     text NOT NULL,
	ice                  text NOT NULL,
	rc                   text NOT NULL,
	tp                   text NOT NULL,
	if_                  text NOT NULL,
	forme_juridique      text NOT NULL,
	agence               text NOT NULL REFERENCES agencies(code),
	etat_compte          text NOT NULL,
	mode_telepaiement    text NOT NULL,
	code_banque          text NOT NULL,
	date_creation_compte text NOT NULL,
	rep_nom              bytea,
	rep_prenom           bytea,
	rep_cin              bytea,
	email                bytea,
	telephone            bytea,
	rib                  bytea,
	mandataire           bytea,
	rep_cin_bidx         bytea,
	email_bidx           bytea,
	rib_bidx             bytea
);
CREATE INDEX employers_agence ON employers(agence);
CREATE INDEX employers_rep_cin_bidx ON employers(rep_cin_bidx);
CREATE INDEX employers_email_bidx ON employers(email_bidx);
CREATE INDEX employers_rib_bidx ON employers(rib_bidx);

CREATE TABLE employees (
	id               bigint PRIMARY KEY,
	date_affiliation text NOT NULL,
	imm              bytea NOT NULL,
	cin              bytea,
	passeport        bytea,
	nom              bytea NOT NULL,
	prenom           bytea NOT NULL,
	imm_bidx         bytea NOT NULL CONSTRAINT employees_imm_bidx_key UNIQUE,
	cin_bidx         bytea,
	passeport_bidx   bytea
);
CREATE UNIQUE INDEX employees_cin_bidx ON employees(cin_bidx) WHERE cin_bidx IS NOT NULL;
CREATE UNIQUE INDEX employees_passeport_bidx ON employees(passeport_bidx) WHERE passeport_bidx IS NOT NULL;

-- One blind index per word of an insured person's names.
CREATE TABLE name_index (
	word        bytea NOT NULL,
	employee_id bigint NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
	PRIMARY KEY (word, employee_id)
);
CREATE INDEX name_index_employee ON name_index(employee_id);

CREATE TABLE employments (
	employee_id bigint NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
	employer_id bigint NOT NULL REFERENCES employers(id),
	since       text NOT NULL,
	state       text NOT NULL,
	PRIMARY KEY (employee_id, employer_id)
);
CREATE INDEX employments_employer ON employments(employer_id, employee_id);

-- Wrapped data keys, one per subject (kind 1 = employer, 2 = employee), apart from the data: erasing a
-- subject deletes one row, rotation rewraps these rows only.
CREATE TABLE data_keys (
	kind        smallint NOT NULL,
	subject_id  bigint NOT NULL,
	kek_version bigint NOT NULL,
	wrapped     bytea NOT NULL,
	PRIMARY KEY (kind, subject_id)
);
CREATE INDEX data_keys_version ON data_keys(kek_version, kind, subject_id);

-- Operator bearer tokens (until accounts arrive): SHA-256 of a 256-bit random token, never the token.
CREATE TABLE operator_tokens (
	hash    bytea PRIMARY KEY,
	label   text NOT NULL,
	created text NOT NULL
);
