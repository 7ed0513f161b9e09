// Package postgres is the server store: PostgreSQL through pgx, numbered migrations embedded in the
// binary and run in order, each in its own transaction, under an advisory lock so that two processes
// starting together do not race. It keeps the same rows as the SQLite store (ciphertext, blind
// indexes, internal ids, non-personal data) and passes the same contract suite (storetest).
//
// Ids are allocated as max(id)+1 under a SHARE ROW EXCLUSIVE table lock, as SQLite's single writer
// does: creates are rare next to reads, and a bulk load that holds the same lock can hand out ids
// from memory and send its rows with COPY.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"amane"
	"amane/internal/migrate"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
	Now  amane.Clock
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

// IsURL reports whether a --db value names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database named by url and migrates it. The URL may carry search_path (tests
// give each store a schema of its own).
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password included: say only what is wrong.
		return nil, errors.New("postgres: the database URL does not parse (expected postgres://user@host:port/db?options)")
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SchemaVersion is the number of the last migration this binary knows.
var SchemaVersion = func() int {
	all, _ := migrate.List(migrations)
	return len(all)
}()

func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	// One migrator at a time across processes; the lock is the connection's until released.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7261746)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7261746)`)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied text NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
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
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, m.Version, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

const employerCols = `e.id, e.affiliation, e.raison_sociale, e.activite, e.adresse, e.ville, e.date_adhesion, e.date_affiliation,
	e.ice, e.rc, e.tp, e.if_, e.forme_juridique, e.agence, e.etat_compte, e.mode_telepaiement, e.code_banque, e.date_creation_compte,
	e.rep_nom, e.rep_prenom, e.rep_cin, e.email, e.telephone, e.rib, e.mandataire, e.rep_cin_bidx, e.email_bidx, e.rib_bidx,
	coalesce(k.kek_version, 0), k.wrapped`

const employerFrom = ` FROM employers e LEFT JOIN data_keys k ON k.kind = 1 AND k.subject_id = e.id`

func scanEmployer(row pgx.Row) (*amane.EmployerRecord, error) {
	var r amane.EmployerRecord
	var ver int64
	err := row.Scan(&r.ID, &r.Affiliation, &r.Name, &r.Activity, &r.Address, &r.City, &r.AdhesionDate, &r.AffiliationDate,
		&r.ICE, &r.RC, &r.TP, &r.IF, &r.LegalForm, &r.Agency, &r.AccountState, &r.PaymentMode, &r.BankCode, &r.BankAccountDate,
		&r.RepSurname, &r.RepFirstName, &r.RepCIN, &r.Email, &r.Phone, &r.RIB, &r.Mandataire, &r.RepCINIndex, &r.EmailIndex, &r.RIBIndex,
		&ver, &r.Key.Blob)
	r.Key.Version = uint32(ver)
	return &r, err
}

func employerArgs(r *amane.EmployerRecord) []any {
	return []any{r.ID, r.Affiliation, r.Name, r.Activity, r.Address, r.City, r.AdhesionDate, r.AffiliationDate,
		r.ICE, r.RC, r.TP, r.IF, r.LegalForm, r.Agency, r.AccountState, r.PaymentMode, r.BankCode, r.BankAccountDate,
		r.RepSurname, r.RepFirstName, r.RepCIN, r.Email, r.Phone, r.RIB, r.Mandataire, r.RepCINIndex, r.EmailIndex, r.RIBIndex}
}

var employerColumns = []string{"id", "affiliation", "raison_sociale", "activite", "adresse", "ville", "date_adhesion", "date_affiliation",
	"ice", "rc", "tp", "if_", "forme_juridique", "agence", "etat_compte", "mode_telepaiement", "code_banque", "date_creation_compte",
	"rep_nom", "rep_prenom", "rep_cin", "email", "telephone", "rib", "mandataire", "rep_cin_bidx", "email_bidx", "rib_bidx"}

const insertEmployer = `INSERT INTO employers (id, affiliation, raison_sociale, activite, adresse, ville, date_adhesion, date_affiliation,
	ice, rc, tp, if_, forme_juridique, agence, etat_compte, mode_telepaiement, code_banque, date_creation_compte,
	rep_nom, rep_prenom, rep_cin, email, telephone, rib, mandataire, rep_cin_bidx, email_bidx, rib_bidx)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)`

const insertAgency = `INSERT INTO agencies (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`

const insertKey = `INSERT INTO data_keys (kind, subject_id, kek_version, wrapped) VALUES ($1, $2, $3, $4)`

// CreateEmployer implements amane.EmployerStore.
func (s *Store) CreateEmployer(ctx context.Context, seal func(id int64) (*amane.EmployerRecord, error)) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE employers IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM employers`).Scan(&id); err != nil {
			return err
		}
		r, err := seal(id)
		if err != nil {
			return err
		}
		r.ID = id
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM employers WHERE affiliation = $1`, r.Affiliation).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return amane.Conflict("affiliation")
		}
		if _, err := tx.Exec(ctx, insertAgency, r.Agency, r.Agency); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insertEmployer, employerArgs(r)...); err != nil {
			return conflict(err)
		}
		_, err = tx.Exec(ctx, insertKey, amane.KeyEmployer, id, int64(r.Key.Version), r.Key.Blob)
		return err
	})
	return id, err
}

// UpdateEmployer implements amane.EmployerStore.
func (s *Store) UpdateEmployer(ctx context.Context, r *amane.EmployerRecord) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertAgency, r.Agency, r.Agency); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE employers SET affiliation = $2, raison_sociale = $3, activite = $4, adresse = $5, ville = $6,
			date_adhesion = $7, date_affiliation = $8, ice = $9, rc = $10, tp = $11, if_ = $12, forme_juridique = $13, agence = $14, etat_compte = $15,
			mode_telepaiement = $16, code_banque = $17, date_creation_compte = $18, rep_nom = $19, rep_prenom = $20, rep_cin = $21, email = $22,
			telephone = $23, rib = $24, mandataire = $25, rep_cin_bidx = $26, email_bidx = $27, rib_bidx = $28 WHERE id = $1`,
			employerArgs(r)...)
		if err != nil {
			return conflict(err)
		}
		if tag.RowsAffected() == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Employer not found.")
		}
		return replaceKey(ctx, tx, amane.KeyEmployer, r.ID, r.Key)
	})
}

// replaceKey stores a subject's new wrapped data key over the old one: what the old key sealed is
// unreadable from now on.
func replaceKey(ctx context.Context, tx pgx.Tx, kind int, id int64, k amane.WrappedKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO data_keys (kind, subject_id, kek_version, wrapped) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, subject_id) DO UPDATE SET kek_version = excluded.kek_version, wrapped = excluded.wrapped`, kind, id, int64(k.Version), k.Blob)
	return err
}

// EmployerByAffiliation implements amane.EmployerStore.
func (s *Store) EmployerByAffiliation(ctx context.Context, affiliation string) (*amane.EmployerRecord, error) {
	r, err := scanEmployer(s.pool.QueryRow(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.affiliation = $1`, affiliation))
	if errors.Is(err, pgx.ErrNoRows) {
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

func employeeDest(r *amane.EmployeeRecord, ver *int64) []any {
	return []any{&r.ID, &r.AffiliationDate, &r.Imm, &r.CIN, &r.Passport, &r.Surname, &r.FirstName,
		&r.ImmIndex, &r.CINIndex, &r.PassportIndex, ver, &r.Key.Blob}
}

func scanEmployee(row pgx.Row) (*amane.EmployeeRecord, error) {
	var r amane.EmployeeRecord
	var ver int64
	err := row.Scan(employeeDest(&r, &ver)...)
	r.Key.Version = uint32(ver)
	return &r, err
}

var employeeColumns = []string{"id", "date_affiliation", "imm", "cin", "passeport", "nom", "prenom", "imm_bidx", "cin_bidx", "passeport_bidx"}

const insertEmployee = `INSERT INTO employees (id, date_affiliation, imm, cin, passeport, nom, prenom, imm_bidx, cin_bidx, passeport_bidx)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func employeeArgs(r *amane.EmployeeRecord) []any {
	return []any{r.ID, r.AffiliationDate, r.Imm, r.CIN, r.Passport, r.Surname, r.FirstName, r.ImmIndex, nullable(r.CINIndex), nullable(r.PassportIndex)}
}

// nullable stores an absent index as NULL, so that the unique index ignores it.
func nullable(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// conflict turns a uniqueness violation into ECONFLICT naming the field (never the value: PostgreSQL's
// own message would quote the key).
func conflict(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return err
	}
	return amane.Conflict(map[string]string{"employees_imm_bidx_key": "immatriculation", "employees_passeport_bidx": "passeport",
		"employees_cin_bidx": "cin", "employers_affiliation_key": "affiliation"}[pe.ConstraintName])
}

func insertNameIndex(ctx context.Context, tx pgx.Tx, id int64, words [][]byte) error {
	if len(words) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO name_index (word, employee_id) SELECT w, $2 FROM unnest($1::bytea[]) AS w ON CONFLICT DO NOTHING`, words, id)
	return err
}

// CreateEmployee implements amane.EmployeeStore.
func (s *Store) CreateEmployee(ctx context.Context, seal func(id int64) (*amane.EmployeeRecord, error), jobs []amane.Employment) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE employees IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM employees`).Scan(&id); err != nil {
			return err
		}
		r, err := seal(id)
		if err != nil {
			return err
		}
		r.ID = id
		if _, err := tx.Exec(ctx, insertEmployee, employeeArgs(r)...); err != nil {
			return conflict(err)
		}
		if _, err := tx.Exec(ctx, insertKey, amane.KeyEmployee, id, int64(r.Key.Version), r.Key.Blob); err != nil {
			return err
		}
		if err := insertNameIndex(ctx, tx, id, r.NameIndex); err != nil {
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

func putEmployment(ctx context.Context, tx pgx.Tx, employeeID int64, j amane.Employment) error {
	if j.EmployerID == 0 {
		if err := tx.QueryRow(ctx, `SELECT id FROM employers WHERE affiliation = $1`, j.Affiliation).Scan(&j.EmployerID); errors.Is(err, pgx.ErrNoRows) {
			return &amane.Error{Code: amane.ENOTFOUND, Message: "No employer has this affiliation number.", Fields: []amane.FieldError{{Field: "emplois.affiliation", Rule: "no employer has this affiliation number"}}}
		} else if err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO employments (employee_id, employer_id, since, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (employee_id, employer_id) DO UPDATE SET since = excluded.since, state = excluded.state`,
		employeeID, j.EmployerID, j.Since, j.State)
	return err
}

// UpdateEmployee implements amane.EmployeeStore.
func (s *Store) UpdateEmployee(ctx context.Context, r *amane.EmployeeRecord) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE employees SET date_affiliation = $2, imm = $3, cin = $4, passeport = $5, nom = $6, prenom = $7,
			imm_bidx = $8, cin_bidx = $9, passeport_bidx = $10 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM erasures WHERE employee_id = $1)`, employeeArgs(r)...)
		if err != nil {
			return conflict(err)
		}
		if tag.RowsAffected() == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
		}
		if err := replaceKey(ctx, tx, amane.KeyEmployee, r.ID, r.Key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM name_index WHERE employee_id = $1`, r.ID); err != nil {
			return err
		}
		return insertNameIndex(ctx, tx, r.ID, r.NameIndex)
	})
}

// EmployeeByImmIndex implements amane.EmployeeStore.
func (s *Store) EmployeeByImmIndex(ctx context.Context, idx []byte) (*amane.EmployeeRecord, error) {
	r, err := scanEmployee(s.pool.QueryRow(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.imm_bidx = $1`, idx))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
	}
	return r, err
}

func (s *Store) queryEmployees(ctx context.Context, query string, args ...any) ([]*amane.EmployeeRecord, error) {
	rows, err := s.pool.Query(ctx, query, args...)
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
func (s *Store) EmployeesByCINIndex(ctx context.Context, idx []byte) ([]*amane.EmployeeRecord, error) {
	return s.queryEmployees(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.cin_bidx = $1 OR e.passeport_bidx = $1 ORDER BY e.id`, idx)
}

// EmployeesByNameIndex implements amane.EmployeeStore: the employees that carry every word, by grouping the
// word rows of all the words and keeping the ids seen once per word.
func (s *Store) EmployeesByNameIndex(ctx context.Context, words [][]byte, limit int) ([]*amane.EmployeeRecord, error) {
	if len(words) == 0 || len(words) > 8 {
		return nil, amane.Errorf(amane.EINVALID, "Search with 1 to 8 words.")
	}
	return s.queryEmployees(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.id IN (
			SELECT employee_id FROM name_index WHERE word = ANY($1::bytea[]) GROUP BY employee_id HAVING count(*) = cardinality($1::bytea[]))
		ORDER BY e.id LIMIT $2`, dedupe(words), limit)
}

// dedupe drops repeated words, so that count(*) = cardinality holds for "fatima fatima".
func dedupe(words [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, w := range words {
		if !seen[string(w)] {
			seen[string(w)] = true
			out = append(out, w)
		}
	}
	return out
}

// EmployeesOf implements amane.EmploymentStore.
func (s *Store) EmployeesOf(ctx context.Context, employerID int64) (recs []*amane.EmployeeRecord, jobs []amane.Employment, err error) {
	rows, err := s.pool.Query(ctx, `SELECT `+employeeCols+`, j.since, j.state, r.affiliation, r.raison_sociale, r.agence
		FROM employments j JOIN employees e ON e.id = j.employee_id JOIN employers r ON r.id = j.employer_id
		LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id
		WHERE j.employer_id = $1 ORDER BY e.id`, employerID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r amane.EmployeeRecord
		var ver int64
		j := amane.Employment{EmployerID: employerID}
		if err := rows.Scan(append(employeeDest(&r, &ver), &j.Since, &j.State, &j.Affiliation, &j.EmployerName, &j.Agency)...); err != nil {
			return nil, nil, err
		}
		r.Key.Version = uint32(ver)
		j.EmployeeID = r.ID
		recs = append(recs, &r)
		jobs = append(jobs, j)
	}
	return recs, jobs, rows.Err()
}

// Employments implements amane.EmploymentStore.
func (s *Store) Employments(ctx context.Context, employeeID int64) ([]amane.Employment, error) {
	rows, err := s.pool.Query(ctx, `SELECT j.employer_id, r.affiliation, r.raison_sociale, r.agence, j.since, j.state
		FROM employments j JOIN employers r ON r.id = j.employer_id WHERE j.employee_id = $1 ORDER BY j.since, r.affiliation`, employeeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Employment
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
	_, err := s.pool.Exec(ctx, `INSERT INTO operator_tokens (hash, label, created) VALUES ($1, $2, $3)`, hash, label, s.Now().UTC().Format(time.RFC3339))
	return err
}

// OperatorToken implements amane.TokenStore.
func (s *Store) OperatorToken(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM operator_tokens WHERE hash = $1`, hash).Scan(&n)
	return n > 0, err
}

// Size returns the bytes the store's tables and indexes take on disk (its schema's relations).
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
	return n, err
}

// NewSchema creates a schema named name in the database at url and returns a URL whose search_path
// is that schema, and a function that drops it with everything in it. Benchmarks and tests use it to
// run stores side by side in one database.
func NewSchema(ctx context.Context, url, name string) (string, func() error, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", nil, errors.New("postgres: the database URL does not parse")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{name}.Sanitize() // an identifier cannot be a parameter; Sanitize quotes it
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+id+` CASCADE`); err != nil {
		return "", nil, err
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+id); err != nil {
		return "", nil, err
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	drop := func() error {
		c, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+id+` CASCADE`)
		return err
	}
	return u.String(), drop, nil
}
