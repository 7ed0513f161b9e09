-- Monthly salary declarations. The header, the aggregates and the contributions are the employer's
-- non-personal figures, in clear (header and contributions as the JSON of amane.DeclarationHeader and
-- amane.Contributions); lines is the gate's sealed blob, each line sealed under its insured person's
-- history key (data_keys kind 3), so that erasing one person's key leaves their lines unreadable and
-- the others' readable. digest is a keyed hash of the content (idempotent resubmission), never a plain
-- hash: salaries are guessable. due is contributions.total, for history pages and sums in SQL.
-- Ids are max(id) + 1 onwards, read in the batch's write transaction (SQLite's single writer makes
-- that race-free).
CREATE TABLE declarations (
	id            INTEGER PRIMARY KEY,
	employer_id   INTEGER NOT NULL REFERENCES employers(id),
	period        TEXT NOT NULL, -- AAAAMM
	seq           INTEGER NOT NULL, -- 0 principal, n the n-th complementary declaration
	status        TEXT NOT NULL,
	received      TEXT NOT NULL,
	digest        BLOB NOT NULL,
	header        TEXT NOT NULL,
	headcount     INTEGER NOT NULL,
	days          INTEGER NOT NULL,
	payroll       INTEGER NOT NULL,
	capped        INTEGER NOT NULL,
	contributions TEXT NOT NULL,
	due           INTEGER NOT NULL,
	lines         BLOB NOT NULL,
	UNIQUE (employer_id, period, seq)
);
-- No index of its own for the digest: DeclarationByDigest (employer, period, digest) reads the
-- period's few declarations (the principal and its complementary ones) through the unique index
-- above, and a second index would be written at every declaration for nothing.

-- Immatriculation requests opened by B04 lines naming a person Amane does not know. Their personal
-- content is the line, sealed in the declaration under the request's data key (data_keys kind 4);
-- cin_index (a blind index, NULL if the line had no CIN) lets an agent find one.
CREATE TABLE imm_requests (
	id          INTEGER PRIMARY KEY,
	employer_id INTEGER NOT NULL REFERENCES employers(id),
	period      TEXT NOT NULL,
	cin_index   BLOB,
	state       TEXT NOT NULL,
	created     TEXT NOT NULL
);
CREATE INDEX imm_requests_employer ON imm_requests(employer_id, id);
CREATE INDEX imm_requests_cin_index ON imm_requests(cin_index) WHERE cin_index IS NOT NULL;

-- Ids handed out before their rows are written (a request's data key is bound to its id before the
-- declaration that opens it is stored): the last id reserved, per name. NextRequestIDs moves it in a
-- write transaction, never below the table's max(id), so a restored store needs no counter row.
CREATE TABLE id_reservations (
	name TEXT PRIMARY KEY,
	last INTEGER NOT NULL
) WITHOUT ROWID;
