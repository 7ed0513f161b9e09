// Package sqlite is the embedded store: pure-Go SQLite (modernc.org/sqlite, no cgo), WAL journal,
// numbered migrations embedded in the binary and run in order, each in its own transaction. Every
// Store method is one transaction; writes go through one connection opened with BEGIN IMMEDIATE so that
// SQLite's single writer never deadlocks, reads through a pool of read-only connections.
//
// The store holds only what amane.EmployerRecord and amane.EmployeeRecord carry: ciphertext, blind
// indexes, internal ids and non-personal data. It never sees a key.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"amane"
	"amane/internal/migrate"

	"modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the number of the last migration this binary knows.
var SchemaVersion = func() int {
	all, _ := migrate.List(migrations)
	return len(all)
}()

// Store is the SQLite store.
type Store struct {
	path string
	w    *sql.DB // one connection, BEGIN IMMEDIATE
	r    *sql.DB // read-only pool
	Now  amane.Clock

	stmts  sync.Map // the writer's prepared statements (cachedStmt)
	rstmts sync.Map // the read pool's prepared statements (readStmt), by query text
}

// Store implements every store service.
var (
	_ amane.EmployerStore    = (*Store)(nil)
	_ amane.EmployeeStore    = (*Store)(nil)
	_ amane.EmploymentStore  = (*Store)(nil)
	_ amane.DeclarationStore = (*Store)(nil)
	_ amane.ImmRequestStore  = (*Store)(nil)
	_ amane.AccountStore     = (*Store)(nil)
	_ amane.TokenStore       = (*Store)(nil)
	_ amane.SignInStore      = (*Store)(nil)
	_ amane.KeyStore         = (*Store)(nil)
	_ amane.AttestationStore = (*Store)(nil)
	_ amane.AlertStore       = (*Store)(nil)
	_ amane.JournalStore     = (*Store)(nil)
	_ amane.LoadStore        = (*Store)(nil)
	_ amane.BackupStore      = (*Store)(nil)
)

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	// mmap_size: readers map the first GiB of the main file instead of copying each page in with
	// pread (the registry's hot pages are read far more often than they are written). The cost SQLite
	// documents: an I/O error while reading a mapped page stops the process with a signal instead of
	// returning an error; a registry server stopping is the failure it already handles.
	pragmas := []string{"journal_mode(WAL)", "busy_timeout(30000)", "foreign_keys(1)", "synchronous(FULL)", "temp_store(MEMORY)", "cache_size(-262144)", "mmap_size(1073741824)"}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	wq := url.Values{"_txlock": {"immediate"}}
	for k, v := range q {
		wq[k] = v
	}
	// Create the file owner-only before SQLite does: its WAL and shared-memory files take the
	// database's permissions.
	jpath := JournalPath(path)
	for _, p := range []string{path, jpath} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	w := sql.OpenDB(&connector{dsn: "file:" + path + "?" + wq.Encode(), journal: jpath})
	w.SetMaxOpenConns(1)
	s := &Store{path: path, w: w, Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	q.Add("_pragma", "query_only(1)")
	r := sql.OpenDB(&connector{dsn: "file:" + path + "?" + q.Encode(), journal: jpath})
	// As many idle as open: a closed reader takes its page cache and prepared statements with it,
	// and opening one runs every pragma again.
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	return s, nil
}

// JournalPath is where the store at path keeps its access journal: a second database file
// ("amane.journal.db" beside "amane.db"), attached to every connection as the schema "journal".
// The journal's tables live there so that its commits — one or more every millisecond under read
// load — do not reset the page caches of the connections reading the registry: SQLite discards a
// connection's cache of a database file whenever another connection has written to that file.
func JournalPath(path string) string {
	return strings.TrimSuffix(path, ".db") + ".journal.db"
}

// connector opens connections to the store's database with the journal's file attached.
type connector struct {
	dsn, journal string
	drv          sqlite.Driver
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	ex := conn.(driver.ExecerContext)
	// The DSN's pragmas apply to the main file only; the attached one gets its own.
	stmts := []string{`ATTACH DATABASE ? AS journal`, `PRAGMA journal.journal_mode = WAL`, `PRAGMA journal.synchronous = FULL`}
	for i, q := range stmts {
		var args []driver.NamedValue
		if i == 0 {
			args = []driver.NamedValue{{Ordinal: 1, Value: c.journal}}
		}
		if _, err := ex.ExecContext(ctx, q, args); err != nil {
			conn.Close()
			return nil, fmt.Errorf("sqlite: attach the journal %s: %w", filepath.Base(c.journal), err)
		}
	}
	return conn, nil
}

func (c *connector) Driver() driver.Driver { return &c.drv }

// Close closes the database.
func (s *Store) Close() error {
	err1 := s.r.Close()
	err2 := s.w.Close()
	return errors.Join(err1, err2)
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	all, err := migrate.List(migrations)
	if err != nil {
		return err
	}
	todo, err := migrate.Pending(all, cur)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, m.Version, time.Now().UTC().Format(time.RFC3339))
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return s.moveJournal(ctx)
}

// journalSchema creates the journal's tables in its own file (JournalPath), as migrations 005 and
// 006 made them in the main one.
const journalSchema = `
CREATE TABLE IF NOT EXISTS journal.journal_entries (
	idx    INTEGER PRIMARY KEY,
	entry  BLOB NOT NULL,
	record TEXT
);
CREATE INDEX IF NOT EXISTS journal.journal_entries_record ON journal_entries(record, idx);
CREATE TABLE IF NOT EXISTS journal.journal_hashes (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS journal.journal_checkpoints (
	size   INTEGER PRIMARY KEY,
	signed BLOB NOT NULL
);`

// moveJournal puts the journal's tables in the journal's file: the migrations create them in the
// main file (where stores made before the move kept them); their rows are copied in one transaction
// that writes the journal's file only, and the main file's tables dropped in a second one. A
// transaction over two attached WAL files is atomic per file, not as a whole, so a crash between
// the two leaves the rows in both places, and the next Open copies again (INSERT OR IGNORE) and drops.
func (s *Store) moveJournal(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = 'journal_entries'`).Scan(&n); err != nil {
		return err
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, journalSchema); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for _, q := range []string{
			`INSERT OR IGNORE INTO journal.journal_entries (idx, entry, record) SELECT idx, entry, record FROM main.journal_entries`,
			`INSERT OR IGNORE INTO journal.journal_hashes (idx, hash) SELECT idx, hash FROM main.journal_hashes`,
			`INSERT OR IGNORE INTO journal.journal_checkpoints (size, signed) SELECT size, signed FROM main.journal_checkpoints`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || n == 0 {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DROP TABLE main.journal_entries; DROP TABLE main.journal_hashes; DROP TABLE main.journal_checkpoints`)
		return err
	})
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// readStmt returns query prepared on the read pool, once per store: database/sql prepares it on each
// reader connection at its first use there and keeps it, so a hot read is not parsed again.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.rstmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.rstmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readRow runs a single-statement read (consistent on its own, no transaction) with a cached
// statement.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		// A QueryRow on the pool reports the same preparation error through Scan.
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// readRows is readRow for several rows.
func (s *Store) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

const (
	kindEmployer = amane.KeyEmployer
	kindEmployee = amane.KeyEmployee
)

const employerCols = `e.id, e.affiliation, e.raison_sociale, e.activite, e.adresse, e.ville, e.date_adhesion, e.date_affiliation,
	e.ice, e.rc, e.tp, e.if_, e.forme_juridique, e.agence, e.etat_compte, e.mode_telepaiement, e.code_banque, e.date_creation_compte,
	e.rep_nom, e.rep_prenom, e.rep_cin, e.email, e.telephone, e.rib, e.mandataire, e.rep_cin_bidx, e.email_bidx, e.rib_bidx,
	coalesce(k.kek_version, 0), k.wrapped`

const employerFrom = ` FROM employers e LEFT JOIN data_keys k ON k.kind = 1 AND k.subject_id = e.id`

func scanEmployer(row interface{ Scan(...any) error }) (*amane.EmployerRecord, error) {
	var r amane.EmployerRecord
	err := row.Scan(&r.ID, &r.Affiliation, &r.Name, &r.Activity, &r.Address, &r.City, &r.AdhesionDate, &r.AffiliationDate,
		&r.ICE, &r.RC, &r.TP, &r.IF, &r.LegalForm, &r.Agency, &r.AccountState, &r.PaymentMode, &r.BankCode, &r.BankAccountDate,
		&r.RepSurname, &r.RepFirstName, &r.RepCIN, &r.Email, &r.Phone, &r.RIB, &r.Mandataire, &r.RepCINIndex, &r.EmailIndex, &r.RIBIndex,
		&r.Key.Version, &r.Key.Blob)
	return &r, err
}

func employerArgs(r *amane.EmployerRecord) []any {
	return []any{r.Affiliation, r.Name, r.Activity, r.Address, r.City, r.AdhesionDate, r.AffiliationDate,
		r.ICE, r.RC, r.TP, r.IF, r.LegalForm, r.Agency, r.AccountState, r.PaymentMode, r.BankCode, r.BankAccountDate,
		r.RepSurname, r.RepFirstName, r.RepCIN, r.Email, r.Phone, r.RIB, r.Mandataire, r.RepCINIndex, r.EmailIndex, r.RIBIndex}
}

const insertEmployer = `INSERT INTO employers (id, affiliation, raison_sociale, activite, adresse, ville, date_adhesion, date_affiliation,
	ice, rc, tp, if_, forme_juridique, agence, etat_compte, mode_telepaiement, code_banque, date_creation_compte,
	rep_nom, rep_prenom, rep_cin, email, telephone, rib, mandataire, rep_cin_bidx, email_bidx, rib_bidx)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const insertAgency = `INSERT INTO agencies (code, name) VALUES (?, ?) ON CONFLICT (code) DO NOTHING`

const insertKey = `INSERT INTO data_keys (kind, subject_id, kek_version, wrapped) VALUES (?, ?, ?, ?)`

// CreateEmployer implements amane.EmployerStore.
func (s *Store) CreateEmployer(ctx context.Context, seal func(id int64) (*amane.EmployerRecord, error)) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM employers`).Scan(&id); err != nil {
			return err
		}
		r, err := seal(id)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM employers WHERE affiliation = ?`, r.Affiliation).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return amane.Conflict("affiliation")
		}
		if _, err := tx.ExecContext(ctx, insertAgency, r.Agency, r.Agency); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertEmployer, append([]any{id}, employerArgs(r)...)...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertKey, kindEmployer, id, r.Key.Version, r.Key.Blob)
		return err
	})
	return id, err
}

// UpdateEmployer implements amane.EmployerStore.
func (s *Store) UpdateEmployer(ctx context.Context, r *amane.EmployerRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertAgency, r.Agency, r.Agency); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE employers SET affiliation = ?, raison_sociale = ?, activite = ?, adresse = ?, ville = ?,
			date_adhesion = ?, date_affiliation = ?, ice = ?, rc = ?, tp = ?, if_ = ?, forme_juridique = ?, agence = ?, etat_compte = ?,
			mode_telepaiement = ?, code_banque = ?, date_creation_compte = ?, rep_nom = ?, rep_prenom = ?, rep_cin = ?, email = ?,
			telephone = ?, rib = ?, mandataire = ?, rep_cin_bidx = ?, email_bidx = ?, rib_bidx = ? WHERE id = ?`,
			append(employerArgs(r), r.ID)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Employer not found.")
		}
		return replaceKey(ctx, tx, kindEmployer, r.ID, r.Key)
	})
}

// replaceKey stores a subject's new wrapped data key: the old one is overwritten, so that what it
// sealed is unreadable from now on.
func replaceKey(ctx context.Context, tx *sql.Tx, kind int, id int64, k amane.WrappedKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO data_keys (kind, subject_id, kek_version, wrapped) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, subject_id) DO UPDATE SET kek_version = excluded.kek_version, wrapped = excluded.wrapped`, kind, id, k.Version, k.Blob)
	return err
}

// EmployerByAffiliation implements amane.EmployerStore.
func (s *Store) EmployerByAffiliation(ctx context.Context, affiliation string) (*amane.EmployerRecord, error) {
	var r *amane.EmployerRecord
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = scanEmployer(tx.QueryRowContext(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.affiliation = ?`, affiliation))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Employer not found.")
	}
	return r, err
}

// EmployerIDByAffiliation implements amane.EmployerStore.
func (s *Store) EmployerIDByAffiliation(ctx context.Context, affiliation string) (int64, error) {
	r, err := s.EmployerByAffiliation(ctx, affiliation)
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}

// EmployerIdentityByID implements amane.EmployerStore.
func (s *Store) EmployerIdentityByID(ctx context.Context, id int64) (*amane.EmployerIdentity, error) {
	r, err := s.EmployerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &r.EmployerIdentity, nil
}

const employeeCols = `e.id, e.date_affiliation, e.imm, e.cin, e.passeport, e.nom, e.prenom, e.imm_bidx, e.cin_bidx, e.passeport_bidx,
	coalesce(k.kek_version, 0), k.wrapped`

const employeeFrom = ` FROM employees e LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id`

func scanEmployee(row interface{ Scan(...any) error }) (*amane.EmployeeRecord, error) {
	var r amane.EmployeeRecord
	err := row.Scan(&r.ID, &r.AffiliationDate, &r.Imm, &r.CIN, &r.Passport, &r.Surname, &r.FirstName,
		&r.ImmIndex, &r.CINIndex, &r.PassportIndex, &r.Key.Version, &r.Key.Blob)
	return &r, err
}

const insertEmployee = `INSERT INTO employees (id, date_affiliation, imm, cin, passeport, nom, prenom, imm_bidx, cin_bidx, passeport_bidx)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func employeeArgs(r *amane.EmployeeRecord) []any {
	return []any{r.AffiliationDate, notNull(r.Imm), r.CIN, r.Passport, notNull(r.Surname), notNull(r.FirstName), r.ImmIndex, nullable(r.CINIndex), nullable(r.PassportIndex)}
}

// notNull stores an empty ciphertext (an erased person's) as an empty blob: the driver reads one back
// as nil, which would otherwise be written as NULL.
func notNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullable stores an absent index as NULL, so that UNIQUE ignores it.
func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// conflict turns a uniqueness violation into ECONFLICT naming the field (never the value).
func conflict(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") {
		for _, c := range []struct{ column, field string }{
			{"imm_bidx", "immatriculation"}, {"passeport_bidx", "passeport"}, {"cin_bidx", "cin"}, {"affiliation", "affiliation"},
		} {
			if strings.Contains(msg, c.column) {
				return amane.Conflict(c.field)
			}
		}
		return amane.Conflict("")
	}
	return err
}

func (s *Store) insertNameIndex(ctx context.Context, tx *sql.Tx, id int64, words [][]byte) error {
	for _, w := range words {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO name_index (word, employee_id) VALUES (?, ?)`, w, id); err != nil {
			return err
		}
	}
	return nil
}

// CreateEmployee implements amane.EmployeeStore.
func (s *Store) CreateEmployee(ctx context.Context, seal func(id int64) (*amane.EmployeeRecord, error), jobs []amane.Employment) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM employees`).Scan(&id); err != nil {
			return err
		}
		r, err := seal(id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertEmployee, append([]any{id}, employeeArgs(r)...)...); err != nil {
			return conflict(err)
		}
		if _, err := tx.ExecContext(ctx, insertKey, kindEmployee, id, r.Key.Version, r.Key.Blob); err != nil {
			return err
		}
		if err := s.insertNameIndex(ctx, tx, id, r.NameIndex); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := putEmployment(ctx, tx, id, j); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

func putEmployment(ctx context.Context, tx *sql.Tx, employeeID int64, j amane.Employment) error {
	if j.EmployerID == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM employers WHERE affiliation = ?`, j.Affiliation).Scan(&j.EmployerID); errors.Is(err, sql.ErrNoRows) {
			return &amane.Error{Code: amane.ENOTFOUND, Message: "No employer has this affiliation number.", Fields: []amane.FieldError{{Field: "emplois.affiliation", Rule: "no employer has this affiliation number"}}}
		} else if err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO employments (employee_id, employer_id, since, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (employee_id, employer_id) DO UPDATE SET since = excluded.since, state = excluded.state`,
		employeeID, j.EmployerID, j.Since, j.State)
	return err
}

// UpdateEmployee implements amane.EmployeeStore.
func (s *Store) UpdateEmployee(ctx context.Context, r *amane.EmployeeRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE employees SET date_affiliation = ?, imm = ?, cin = ?, passeport = ?, nom = ?, prenom = ?,
			imm_bidx = ?, cin_bidx = ?, passeport_bidx = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM erasures WHERE employee_id = ?)`,
			append(employeeArgs(r), r.ID, r.ID)...)
		if err != nil {
			return conflict(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
		}
		if err := replaceKey(ctx, tx, kindEmployee, r.ID, r.Key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM name_index WHERE employee_id = ?`, r.ID); err != nil {
			return err
		}
		return s.insertNameIndex(ctx, tx, r.ID, r.NameIndex)
	})
}

// EmployeeByImmIndex implements amane.EmployeeStore.
func (s *Store) EmployeeByImmIndex(ctx context.Context, idx []byte) (*amane.EmployeeRecord, error) {
	r, err := scanEmployee(s.readRow(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.imm_bidx = ?`, idx))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
	}
	return r, err
}

func queryEmployees(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]*amane.EmployeeRecord, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*amane.EmployeeRecord
	for rows.Next() {
		r, err := scanEmployee(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EmployeesByCINIndex implements amane.EmployeeStore.
func (s *Store) EmployeesByCINIndex(ctx context.Context, idx []byte) (out []*amane.EmployeeRecord, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		out, err = queryEmployees(ctx, tx, `SELECT `+employeeCols+employeeFrom+` WHERE e.cin_bidx = ? OR e.passeport_bidx = ? ORDER BY e.id`, idx, idx)
		return err
	})
	return out, err
}

// EmployeesByNameIndex implements amane.EmployeeStore. The query intersects the word lists: one join per word,
// each an index range scan on name_index's primary key.
func (s *Store) EmployeesByNameIndex(ctx context.Context, words [][]byte, limit int) (out []*amane.EmployeeRecord, err error) {
	if len(words) == 0 || len(words) > 8 {
		return nil, amane.Errorf(amane.EINVALID, "Search with 1 to 8 words.")
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + employeeCols + ` FROM name_index n0`)
	args := []any{}
	for i := 1; i < len(words); i++ {
		fmt.Fprintf(&b, ` JOIN name_index n%d ON n%d.employee_id = n0.employee_id AND n%d.word = ?`, i, i, i)
		args = append(args, words[i])
	}
	b.WriteString(` JOIN employees e ON e.id = n0.employee_id LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id WHERE n0.word = ? ORDER BY e.id LIMIT ?`)
	args = append(args, words[0], limit)
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		// The statement text depends only on the number of words (constant table aliases); every value is a parameter.
		out, err = queryEmployees(ctx, tx, b.String(), args...)
		return err
	})
	return out, err
}

// EmployeesOf implements amane.EmploymentStore.
func (s *Store) EmployeesOf(ctx context.Context, employerID int64) (recs []*amane.EmployeeRecord, jobs []amane.Employment, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+employeeCols+`, j.since, j.state, r.affiliation, r.raison_sociale, r.agence
			FROM employments j JOIN employees e ON e.id = j.employee_id JOIN employers r ON r.id = j.employer_id
			LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id
			WHERE j.employer_id = ? ORDER BY e.id`, employerID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r amane.EmployeeRecord
			j := amane.Employment{EmployerID: employerID}
			if err := rows.Scan(&r.ID, &r.AffiliationDate, &r.Imm, &r.CIN, &r.Passport, &r.Surname, &r.FirstName,
				&r.ImmIndex, &r.CINIndex, &r.PassportIndex, &r.Key.Version, &r.Key.Blob, &j.Since, &j.State, &j.Affiliation, &j.EmployerName, &j.Agency); err != nil {
				return err
			}
			j.EmployeeID = r.ID
			recs = append(recs, &r)
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	return recs, jobs, err
}

// Employments implements amane.EmploymentStore.
func (s *Store) Employments(ctx context.Context, employeeID int64) (out []amane.Employment, err error) {
	rows, err := s.readRows(ctx, `SELECT j.employer_id, r.affiliation, r.raison_sociale, r.agence, j.since, j.state
		FROM employments j JOIN employers r ON r.id = j.employer_id WHERE j.employee_id = ? ORDER BY j.since, r.affiliation`, employeeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		j := amane.Employment{EmployeeID: employeeID}
		if err := rows.Scan(&j.EmployerID, &j.Affiliation, &j.EmployerName, &j.Agency, &j.Since, &j.State); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// AddOperatorToken implements amane.TokenStore.
func (s *Store) AddOperatorToken(ctx context.Context, hash []byte, label string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_tokens (hash, label, created) VALUES (?, ?, ?)`, hash, label, s.Now().UTC().Format(time.RFC3339))
		return err
	})
}

// OperatorToken implements amane.TokenStore.
func (s *Store) OperatorToken(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := s.readRow(ctx, `SELECT count(*) FROM operator_tokens WHERE hash = ?`, hash).Scan(&n)
	return n > 0, err
}
