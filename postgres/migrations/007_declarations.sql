-- Monthly salary declarations, same shape as the SQLite store. The header, the aggregates and the
-- contributions are the employer's non-personal figures, in clear (header and contributions as the
-- JSON of amane.DeclarationHeader and amane.Contributions, kept as text so that they read back byte
-- for byte); lines is the gate's sealed blob, each line sealed under its insured person's history key
-- (data_keys kind 3). digest is a keyed hash of the content, never a plain hash: salaries are
-- guessable. due is contributions.total, for history pages and sums in SQL.
-- Ids come from the sequence declaration_ids, reserved a batch's worth at a time (no default: a lone
-- nextval could fall inside a reserved range), so that concurrent batches need no table lock and a
-- batch sends its rows by COPY with their ids.
-- employer_id has no foreign key here (SQLite's has one): PostgreSQL checks a foreign key with one
-- trigger query per row, which took a third of a batch's time (measured: 1,000 declarations in
-- about 57 ms with it, 36 ms without). PutDeclarations checks a batch's employers in one query instead;
-- employers are never deleted nor renumbered, which is what keeps that check as good as the key.
CREATE SEQUENCE declaration_ids;
CREATE TABLE declarations (
	id            bigint PRIMARY KEY,
	employer_id   bigint NOT NULL,
	period        text NOT NULL, -- AAAAMM
	seq           integer NOT NULL, -- 0 principal, n the n-th complementary declaration
	status        text NOT NULL,
	received      text NOT NULL,
	digest        bytea NOT NULL,
	header        text NOT NULL,
	headcount     bigint NOT NULL,
	days          bigint NOT NULL,
	payroll       bigint NOT NULL,
	capped        bigint NOT NULL,
	contributions text NOT NULL,
	due           bigint NOT NULL,
	lines         bytea NOT NULL,
	CONSTRAINT declarations_period_key UNIQUE (employer_id, period, seq)
);
ALTER SEQUENCE declaration_ids OWNED BY declarations.id;
-- Ciphertext does not compress: store it without trying.
ALTER TABLE declarations ALTER COLUMN lines SET STORAGE EXTERNAL;
-- No index of its own for the digest: DeclarationByDigest (employer, period, digest) reads the
-- period's few declarations (the principal and its complementary ones) through the unique index
-- above, and a second index would be written at every declaration for nothing.

-- Immatriculation requests opened by B04 lines naming a person Amane does not know. Their personal
-- content is the line, sealed in the declaration under the request's data key (data_keys kind 4);
-- cin_index (a blind index, NULL if the line had no CIN) lets an agent find one. Ids are reserved
-- from imm_request_ids before the rows are written (NextRequestIDs): the request's data key is bound
-- to its id.
CREATE SEQUENCE imm_request_ids;
CREATE TABLE imm_requests (
	id          bigint PRIMARY KEY,
	employer_id bigint NOT NULL REFERENCES employers(id),
	period      text NOT NULL,
	cin_index   bytea,
	state       text NOT NULL,
	created     text NOT NULL
);
CREATE INDEX imm_requests_employer ON imm_requests(employer_id, id);
CREATE INDEX imm_requests_cin_index ON imm_requests(cin_index) WHERE cin_index IS NOT NULL;
