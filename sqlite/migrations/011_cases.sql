-- Cases (dossiers, amane.Case): the work a staff read will be bound to (issue 14). No personal data:
-- a number of a fixed shape, internal record references, principal ids, an agency code, an origin
-- code or internal id, times. closed and closed_by are NULL while the case is open.
CREATE TABLE cases (
	id        INTEGER PRIMARY KEY,
	type      TEXT NOT NULL,
	number    TEXT NOT NULL UNIQUE,
	team      TEXT NOT NULL DEFAULT '',
	opened    TEXT NOT NULL,
	opened_by TEXT NOT NULL,
	origin    TEXT NOT NULL,
	closed    TEXT,
	closed_by TEXT
);
-- The records a case concerns ("employee/42"), and the principals assigned ("account/12"): the gate
-- will ask "an open case assigned to P (or its team) that concerns R" on every staff read.
CREATE TABLE case_records (
	case_id INTEGER NOT NULL REFERENCES cases(id),
	record  TEXT NOT NULL,
	PRIMARY KEY (case_id, record)
);
CREATE INDEX case_records_record ON case_records(record);
CREATE TABLE case_staff (
	case_id   INTEGER NOT NULL REFERENCES cases(id),
	principal TEXT NOT NULL,
	PRIMARY KEY (case_id, principal)
);
CREATE INDEX case_staff_principal ON case_staff(principal);
CREATE INDEX cases_team_open ON cases(team) WHERE closed IS NULL;
