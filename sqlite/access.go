package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"amane"
)

// Accounts, passkeys and integration tokens (amane.AccountStore, amane.TokenStore). Ids are allocated as max(id)+1 in
// the write transaction: SQLite's single writer makes that race-free.

const accountCols = `id, login, role, agency, affiliation, employee_id, password_hash, totp, created, disabled`

const insertAccount = `INSERT INTO accounts (` + accountCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func accountArgs(id int64, a *amane.Account) []any {
	return []any{id, a.Login, a.Role, a.Agency, a.Affiliation, a.EmployeeID, a.PasswordHash, a.TOTP, a.Created, a.Disabled}
}

func scanAccount(row interface{ Scan(...any) error }) (*amane.Account, error) {
	var a amane.Account
	err := row.Scan(&a.ID, &a.Login, &a.Role, &a.Agency, &a.Affiliation, &a.EmployeeID, &a.PasswordHash, &a.TOTP, &a.Created, &a.Disabled)
	return &a, err
}

const passkeyCols = `account_id, id, credential, created`

const insertPasskey = `INSERT INTO passkeys (` + passkeyCols + `) VALUES (?, ?, ?, ?)`

func scanPasskey(row interface{ Scan(...any) error }) (*amane.Passkey, error) {
	var p amane.Passkey
	err := row.Scan(&p.AccountID, &p.ID, &p.Credential, &p.Created)
	return &p, err
}

const tokenCols = `id, hash, role, agency, affiliation, employee_id, label, created, expires, revoked, account_id`

const insertToken = `INSERT INTO tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func tokenArgs(id int64, t *amane.Token) []any {
	return []any{id, t.Hash, t.Role, t.Agency, t.Affiliation, t.EmployeeID, t.Label, t.Created, t.Expires, t.Revoked, t.AccountID}
}

func scanToken(row interface{ Scan(...any) error }) (*amane.Token, error) {
	var t amane.Token
	err := row.Scan(&t.ID, &t.Hash, &t.Role, &t.Agency, &t.Affiliation, &t.EmployeeID, &t.Label, &t.Created, &t.Expires, &t.Revoked, &t.AccountID)
	return &t, err
}

// accessError turns a uniqueness violation into ECONFLICT naming field (never the value), and a
// passkey's missing account (foreign key) into ENOTFOUND.
func accessError(err error, field string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return amane.Conflict(field)
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM accounts`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertAccount, accountArgs(id, &row)...)
		return accessError(err, "login")
	})
	if err != nil {
		return 0, err
	}
	a.ID, a.Created = id, row.Created
	return id, nil
}

func (s *Store) account(ctx context.Context, where string, arg any) (*amane.Account, error) {
	var a *amane.Account
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		a, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+where, arg))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Account not found.")
	}
	return a, err
}

// Account implements amane.AccountStore.
func (s *Store) Account(ctx context.Context, id int64) (*amane.Account, error) {
	return s.account(ctx, `id = ?`, id)
}

// AccountByLogin implements amane.AccountStore.
func (s *Store) AccountByLogin(ctx context.Context, login string) (*amane.Account, error) {
	return s.account(ctx, `login = ?`, login)
}

func (s *Store) accounts(ctx context.Context, query string, args ...any) (out []amane.Account, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, *a)
		}
		return rows.Err()
	})
	return out, err
}

// AccountsOfEmployee implements amane.AccountStore.
func (s *Store) AccountsOfEmployee(ctx context.Context, employeeID int64) ([]amane.Account, error) {
	if employeeID <= 0 { // 0 is "no insured person": staff accounts are not theirs
		return nil, nil
	}
	return s.accounts(ctx, `SELECT `+accountCols+` FROM accounts WHERE employee_id = ? ORDER BY id`, employeeID)
}

// Accounts implements amane.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]amane.Account, error) {
	return s.accounts(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
}

// UpdateAccount implements amane.AccountStore: the password hash, TOTP secret and disabled flag only.
func (s *Store) UpdateAccount(ctx context.Context, a *amane.Account) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, totp = ?, disabled = ? WHERE id = ?`, a.PasswordHash, a.TOTP, a.Disabled, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Account not found.")
		}
		return nil
	})
}

// AddPasskey implements amane.AccountStore. ENOTFOUND if the account does not exist.
func (s *Store) AddPasskey(ctx context.Context, p amane.Passkey) error {
	if p.Created == "" {
		p.Created = s.now()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertPasskey, p.AccountID, p.ID, p.Credential, p.Created)
		return accessError(err, "passkey")
	})
}

// Passkeys implements amane.AccountStore.
func (s *Store) Passkeys(ctx context.Context, accountID int64) (out []amane.Passkey, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE account_id = ? ORDER BY created, id`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPasskey(rows)
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		return rows.Err()
	})
	return out, err
}

// UpdatePasskey implements amane.AccountStore. The credential must be the account's: one account's
// sign-in never rewrites another's credential.
func (s *Store) UpdatePasskey(ctx context.Context, p amane.Passkey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET credential = ? WHERE id = ? AND account_id = ?`, p.Credential, p.ID, p.AccountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Passkey not found.")
		}
		return nil
	})
}

// AddToken implements amane.TokenStore. It sets t.ID, and t.Created if empty.
func (s *Store) AddToken(ctx context.Context, t *amane.Token) (int64, error) {
	row := *t
	if row.Created == "" {
		row.Created = s.now()
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM tokens`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertToken, tokenArgs(id, &row)...)
		return accessError(err, "token")
	})
	if err != nil {
		return 0, err
	}
	t.ID, t.Created = id, row.Created
	return id, nil
}

// TokenByHash implements amane.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*amane.Token, error) {
	t, err := scanToken(s.readRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Token not found.")
	}
	return t, err
}

// RevokeToken implements amane.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Token not found.")
		}
		return nil
	})
}

// Tokens implements amane.TokenStore.
func (s *Store) Tokens(ctx context.Context) (out []amane.Token, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	return out, err
}
