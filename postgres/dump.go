package postgres

import (
	"context"

	"amane"

	"github.com/jackc/pgx/v5"
)

// table is one table of a dump and of a restore: the kind of its dump rows (amane.DumpKinds), the
// query and scan that read its rows into dump rows, and how a restore inserts one.
type table struct {
	kind  string
	query string
	scan  func(pgx.Rows) (*amane.DumpItem, error)
	put   func(l *loader, it *amane.DumpItem) error
}

// dumpTables is the one ordered list that drives Dump and Restorer.Put, in the order of amane.DumpKinds:
// a row comes after the rows it refers to. A new table is one entry here.
var dumpTables = []table{
	{"agency", `SELECT code, name, city FROM agencies ORDER BY code`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var a amane.Agency
			return &amane.DumpItem{Agency: &a}, r.Scan(&a.Code, &a.Name, &a.City)
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutAgency(*it.Agency) }},
	{"employer", `SELECT ` + employerCols + employerFrom + ` ORDER BY e.id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			e, err := scanEmployer(r)
			return &amane.DumpItem{Employer: e}, err
		},
		func(l *loader, it *amane.DumpItem) error { return amane.RestoreEmployer(l, it.Employer) }},
	{"employee", `SELECT ` + employeeCols + `, (SELECT array_agg(word ORDER BY word) FROM name_index n WHERE n.employee_id = e.id)` + employeeFrom + ` ORDER BY e.id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var e amane.EmployeeRecord
			var ver int64
			err := r.Scan(append(employeeDest(&e, &ver), &e.NameIndex)...)
			e.Key.Version = uint32(ver)
			return &amane.DumpItem{Employee: &e}, err
		},
		func(l *loader, it *amane.DumpItem) error { return amane.RestoreEmployee(l, it.Employee) }},
	{"employment", `SELECT employee_id, employer_id, since, state FROM employments ORDER BY employee_id, employer_id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var j amane.Employment
			return &amane.DumpItem{Employment: &j}, r.Scan(&j.EmployeeID, &j.EmployerID, &j.Since, &j.State)
		},
		func(l *loader, it *amane.DumpItem) error { return amane.RestoreEmployment(l, *it.Employment) }},
	{"operator_token", `SELECT hash, label, created FROM operator_tokens ORDER BY created, hash`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var t amane.OperatorToken
			return &amane.DumpItem{OperatorToken: &t}, r.Scan(&t.Hash, &t.Label, &t.Created)
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutOperatorToken(*it.OperatorToken) }},
	{"erasure", `SELECT employee_id, at, by_, reason FROM erasures ORDER BY employee_id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var e amane.Erasure
			return &amane.DumpItem{Erasure: &e}, r.Scan(&e.EmployeeID, &e.At, &e.By, &e.Reason)
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutErasure(*it.Erasure) }},
	{"setting", `SELECT name, value FROM settings ORDER BY name`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var x amane.Setting
			return &amane.DumpItem{Setting: &x}, r.Scan(&x.Name, &x.Value)
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutSetting(*it.Setting) }},
	{"account", `SELECT ` + accountCols + ` FROM accounts ORDER BY id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			a, err := scanAccount(r)
			return &amane.DumpItem{Account: a}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutAccount(*it.Account) }},
	// After accounts: a passkey refers to its account.
	{"passkey", `SELECT ` + passkeyCols + ` FROM passkeys ORDER BY account_id, id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			p, err := scanPasskey(r)
			return &amane.DumpItem{Passkey: p}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutPasskey(*it.Passkey) }},
	{"token", `SELECT ` + tokenCols + ` FROM tokens ORDER BY id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			t, err := scanToken(r)
			return &amane.DumpItem{Token: t}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutToken(*it.Token) }},
	// The journal's three tables are rows of one kind (amane.JournalRow.Kind tells them apart).
	{"journal", `SELECT idx, entry, coalesce(record, '') FROM journal_entries ORDER BY idx`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			j := amane.JournalRow{Kind: journalEntry}
			err := r.Scan(&j.Index, &j.Entry, &j.Record)
			return &amane.DumpItem{Journal: &j}, err
		},
		putJournal},
	{"journal", `SELECT idx, hash FROM journal_hashes ORDER BY idx`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			j := amane.JournalRow{Kind: journalHash}
			err := r.Scan(&j.Index, &j.Hash)
			return &amane.DumpItem{Journal: &j}, err
		},
		putJournal},
	{"journal", `SELECT size, signed FROM journal_checkpoints ORDER BY size`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			j := amane.JournalRow{Kind: journalCheckpoint}
			err := r.Scan(&j.Size, &j.Signed)
			return &amane.DumpItem{Journal: &j}, err
		},
		putJournal},
	// Data keys of the other kinds (history, request), before the requests and declarations they
	// seal; employer and employee keys travel with their records.
	{"data_key", `SELECT kind, subject_id, kek_version, wrapped FROM data_keys WHERE kind NOT IN (1, 2) ORDER BY kind, subject_id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var k amane.DataKey
			var kind int16
			var ver int64
			err := r.Scan(&kind, &k.Subject, &ver, &k.Blob)
			k.Kind, k.Version = int(kind), uint32(ver)
			return &amane.DumpItem{DataKey: &k}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutDataKey(*it.DataKey) }},
	// A request's key travels only as its data-key row: Key is left empty.
	{"imm_request", `SELECT id, employer_id, period, cin_index, state, created FROM imm_requests ORDER BY id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			var q amane.ImmRequestRecord
			return &amane.DumpItem{ImmRequest: &q}, r.Scan(&q.ID, &q.EmployerID, &q.Period, &q.CINIndex, &q.State, &q.Created)
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutImmRequest(it.ImmRequest) }},
	{"declaration", `SELECT ` + declarationCols + `, lines FROM declarations ORDER BY id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			d, err := scanDeclaration(r, true)
			return &amane.DumpItem{Declaration: d}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutDeclaration(it.Declaration) }},
	// Attestations after the declarations (COPY order too: their employer and insured person are in
	// the tables before them).
	{"attestation", selectAttestation + ` ORDER BY code`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			a, err := scanAttestation(r)
			return &amane.DumpItem{Attestation: a}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutAttestation(it.Attestation) }},
	// The sentinel's alerts in id order, lifted or not.
	{"security_alert", `SELECT ` + alertCols + ` FROM security_alerts ORDER BY id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			a, err := scanAlert(r)
			return &amane.DumpItem{Alert: a}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutAlert(it.Alert) }},
	// Cases last: they name records and principals by reference only.
	{"case", `SELECT ` + caseCols + ` FROM cases c ORDER BY c.id`,
		func(r pgx.Rows) (*amane.DumpItem, error) {
			c, err := scanCase(r)
			return &amane.DumpItem{Case: c}, err
		},
		func(l *loader, it *amane.DumpItem) error { return l.PutCase(it.Case) }},
}

func putJournal(l *loader, it *amane.DumpItem) error { return l.PutJournal(*it.Journal) }

// Dump implements amane.BackupStore: one REPEATABLE READ, READ ONLY transaction, so every table is
// read at the same instant while the server goes on writing; the tables in the order of the list.
func (s *Store) Dump(ctx context.Context, fn func(*amane.DumpItem) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, t := range dumpTables {
		if err := dumpRows(ctx, tx, t, fn); err != nil {
			return err
		}
	}
	return nil
}

func dumpRows(ctx context.Context, tx pgx.Tx, t table, fn func(*amane.DumpItem) error) error {
	rows, err := tx.Query(ctx, t.query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		it, err := t.scan(rows)
		if err != nil {
			return err
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return rows.Err()
}

// restorer is a restore: a bulk load whose rows go in through the list of tables.
type restorer struct{ *loader }

// BeginRestore implements amane.BackupStore.
func (s *Store) BeginRestore(ctx context.Context) (amane.Restorer, error) {
	l, err := s.beginLoad(ctx)
	if err != nil {
		return nil, err
	}
	return restorer{l}, nil
}

// Put implements amane.Restorer: the row goes to the first table of its kind.
func (r restorer) Put(it *amane.DumpItem) error {
	kind, err := it.Kind()
	if err != nil {
		return err
	}
	for _, t := range dumpTables {
		if t.kind == kind {
			return t.put(r.loader, it)
		}
	}
	return amane.Errorf(amane.EINVALID, "No table keeps rows of kind %q.", kind)
}
