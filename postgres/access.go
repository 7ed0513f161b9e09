package postgres

import (
	"context"
	"errors"
	"time"

	"amane"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Accounts, passkeys and integration tokens (amane.AccountStore, amane.TokenStore). Ids are allocated as max(id)+1
// under a SHARE ROW EXCLUSIVE table lock, as for employers and employees.

const accountCols = `id, login, role, agency, affiliation, employee_id, password_hash, totp, created, disabled`

const insertAccount = `INSERT INTO accounts (` + accountCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func accountArgs(id int64, a *amane.Account) []any {
	return []any{id, a.Login, a.Role, a.Agency, a.Affiliation, a.EmployeeID, a.PasswordHash, a.TOTP, a.Created, a.Disabled}
}

func scanAccount(row pgx.Row) (*amane.Account, error) {
	var a amane.Account
	err := row.Scan(&a.ID, &a.Login, &a.Role, &a.Agency, &a.Affiliation, &a.EmployeeID, &a.PasswordHash, &a.TOTP, &a.Created, &a.Disabled)
	return &a, err
}

const passkeyCols = `account_id, id, credential, created`

const insertPasskey = `INSERT INTO passkeys (` + passkeyCols + `) VALUES ($1, $2, $3, $4)`

func scanPasskey(row pgx.Row) (*amane.Passkey, error) {
	var p amane.Passkey
	err := row.Scan(&p.AccountID, &p.ID, &p.Credential, &p.Created)
	return &p, err
}

const tokenCols = `id, hash, role, agency, affiliation, employee_id, label, created, expires, revoked, account_id`

const insertToken = `INSERT INTO tokens (` + tokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

func tokenArgs(id int64, t *amane.Token) []any {
	return []any{id, t.Hash, t.Role, t.Agency, t.Affiliation, t.EmployeeID, t.Label, t.Created, t.Expires, t.Revoked, t.AccountID}
}

func scanToken(row pgx.Row) (*amane.Token, error) {
	var t amane.Token
	err := row.Scan(&t.ID, &t.Hash, &t.Role, &t.Agency, &t.Affiliation, &t.EmployeeID, &t.Label, &t.Created, &t.Expires, &t.Revoked, &t.AccountID)
	return &t, err
}

// accessError turns a uniqueness violation into ECONFLICT naming the field (never the value:
// PostgreSQL's own message would quote the key), and a passkey's missing account (foreign key) into
// ENOTFOUND.
func accessError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505":
		return amane.Conflict(map[string]string{"accounts_login_key": "login", "passkeys_pkey": "passkey", "tokens_hash_key": "token"}[pe.ConstraintName])
	case "23503":
		return amane.Errorf(amane.ENOTFOUND, "Account not found.")
	}
	return err
}

func (s *Store) now() string { return s.Now().UTC().Format(time.RFC3339) }

// CreateAccount implements amane.AccountStore. It sets a.ID, and a.Created if empty.
func (s *Store) CreateAccount(ctx context.Context, a *amane.Account) (int64, error) {
	row := *a
	if row.Created == "" {
		row.Created = s.now()
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM accounts`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertAccount, accountArgs(id, &row)...)
		return err
	})
	if err != nil {
		return 0, accessError(err)
	}
	a.ID, a.Created = id, row.Created
	return id, nil
}

func (s *Store) account(ctx context.Context, where string, arg any) (*amane.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Account not found.")
	}
	return a, err
}

// Account implements amane.AccountStore.
func (s *Store) Account(ctx context.Context, id int64) (*amane.Account, error) {
	return s.account(ctx, `id = $1`, id)
}

// AccountByLogin implements amane.AccountStore.
func (s *Store) AccountByLogin(ctx context.Context, login string) (*amane.Account, error) {
	return s.account(ctx, `login = $1`, login)
}

func (s *Store) accounts(ctx context.Context, query string, args ...any) ([]amane.Account, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// AccountsOfEmployee implements amane.AccountStore.
func (s *Store) AccountsOfEmployee(ctx context.Context, employeeID int64) ([]amane.Account, error) {
	if employeeID <= 0 { // 0 is "no insured person": staff accounts are not theirs
		return nil, nil
	}
	return s.accounts(ctx, `SELECT `+accountCols+` FROM accounts WHERE employee_id = $1 ORDER BY id`, employeeID)
}

// Accounts implements amane.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]amane.Account, error) {
	return s.accounts(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
}

// UpdateAccount implements amane.AccountStore: the password hash, TOTP secret and disabled flag only.
func (s *Store) UpdateAccount(ctx context.Context, a *amane.Account) error {
	tag, err := s.pool.Exec(ctx, `UPDATE accounts SET password_hash = $1, totp = $2, disabled = $3 WHERE id = $4`, a.PasswordHash, a.TOTP, a.Disabled, a.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "Account not found.")
	}
	return nil
}

// AddPasskey implements amane.AccountStore. ENOTFOUND if the account does not exist.
func (s *Store) AddPasskey(ctx context.Context, p amane.Passkey) error {
	if p.Created == "" {
		p.Created = s.now()
	}
	_, err := s.pool.Exec(ctx, insertPasskey, p.AccountID, p.ID, p.Credential, p.Created)
	return accessError(err)
}

// Passkeys implements amane.AccountStore.
func (s *Store) Passkeys(ctx context.Context, accountID int64) ([]amane.Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE account_id = $1 ORDER BY created, id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// UpdatePasskey implements amane.AccountStore. The credential must be the account's: one account's
// sign-in never rewrites another's credential.
func (s *Store) UpdatePasskey(ctx context.Context, p amane.Passkey) error {
	tag, err := s.pool.Exec(ctx, `UPDATE passkeys SET credential = $1 WHERE id = $2 AND account_id = $3`, p.Credential, p.ID, p.AccountID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "Passkey not found.")
	}
	return nil
}

// AddToken implements amane.TokenStore. It sets t.ID, and t.Created if empty.
func (s *Store) AddToken(ctx context.Context, t *amane.Token) (int64, error) {
	row := *t
	if row.Created == "" {
		row.Created = s.now()
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM tokens`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertToken, tokenArgs(id, &row)...)
		return err
	})
	if err != nil {
		return 0, accessError(err)
	}
	t.ID, t.Created = id, row.Created
	return id, nil
}

// TokenByHash implements amane.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*amane.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Token not found.")
	}
	return t, err
}

// RevokeToken implements amane.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked = true WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "Token not found.")
	}
	return nil
}

// Tokens implements amane.TokenStore.
func (s *Store) Tokens(ctx context.Context) ([]amane.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}
