package amane

import (
	"context"
	"strconv"
)

// Account is a person's way in: staff, an employer user or an insured person. Its login is a handle
// chosen at creation ("agent-0412"), never a name, an e-mail or an identifier: the store keeps it in
// clear. An insured person's account names their record by internal id.
type Account struct {
	ID           int64  `json:"id"`
	Login        string `json:"login"`
	Role         string `json:"role"`
	Agency       string `json:"agency,omitempty"`
	Affiliation  string `json:"affiliation,omitempty"`
	EmployeeID   int64  `json:"employee_id,omitempty"`
	PasswordHash string `json:"password_hash"`  // Argon2id, PHC string format
	TOTP         []byte `json:"totp,omitempty"` // TOTP secret, sealed (web package), non-staff only
	Created      string `json:"created"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// Principal returns the principal an authenticated session of a acts as.
func (a *Account) Principal() *Principal {
	return &Principal{ID: "account/" + strconv.FormatInt(a.ID, 10), Role: a.Role, Agency: a.Agency, Affiliation: a.Affiliation, EmployeeID: a.EmployeeID}
}

// Passkey is a WebAuthn credential registered to an account. Credential is the relying party's JSON
// of the credential (public key, sign count, flags): no secret.
type Passkey struct {
	AccountID  int64  `json:"account_id"`
	ID         []byte `json:"id"` // the credential id
	Credential []byte `json:"credential"`
	Created    string `json:"created"`
}

// Token is a scoped, expiring bearer token for an integration, kept as the SHA-256 of the token.
type Token struct {
	ID          int64  `json:"id"`
	Hash        []byte `json:"hash"`
	Role        string `json:"role"`
	Agency      string `json:"agency,omitempty"`
	Affiliation string `json:"affiliation,omitempty"`
	EmployeeID  int64  `json:"employee_id,omitempty"`
	Label       string `json:"label,omitempty"`
	Created     string `json:"created"`
	Expires     string `json:"expires"` // RFC 3339 UTC
	Revoked     bool   `json:"revoked,omitempty"`
	// AccountID, if not 0, is the account the token was issued to: it acts as that account (same
	// principal, role and scope), so the sentinel sees one principal across the pages and the API, and
	// suspending the account revokes its tokens.
	AccountID int64 `json:"account_id,omitempty"`
}

// Principal returns the principal a request bearing t acts as.
func (t *Token) Principal() *Principal {
	id := "token/" + strconv.FormatInt(t.ID, 10)
	if t.AccountID != 0 {
		id = "account/" + strconv.FormatInt(t.AccountID, 10)
	}
	return &Principal{ID: id, Role: t.Role, Agency: t.Agency, Affiliation: t.Affiliation, EmployeeID: t.EmployeeID, Token: true}
}

// SignInStore is what the web layer reads and writes of the store to authenticate: accounts by id and
// login, passkeys (registered and their sign counts), scoped and operator tokens by hash. It holds no
// ciphertext and erases nothing, so that the types show that a page or an API handler reaches personal
// data only through the gate (the registry's services). Every store implements it, as part of
// AccountStore and TokenStore.
type SignInStore interface {
	Account(ctx context.Context, id int64) (*Account, error)
	AccountByLogin(ctx context.Context, login string) (*Account, error)
	AddPasskey(ctx context.Context, p Passkey) error
	Passkeys(ctx context.Context, accountID int64) ([]Passkey, error)
	UpdatePasskey(ctx context.Context, p Passkey) error
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	OperatorToken(ctx context.Context, hash []byte) (bool, error)
}

var _ SignInStore = interface {
	AccountStore
	TokenStore
}(nil)

// AccountStore keeps accounts and their passkeys.
type AccountStore interface {
	// CreateAccount stores a new account and returns its id. ECONFLICT if the login is taken.
	CreateAccount(ctx context.Context, a *Account) (int64, error)
	// Account returns an account by id, AccountByLogin by login. ENOTFOUND.
	Account(ctx context.Context, id int64) (*Account, error)
	AccountByLogin(ctx context.Context, login string) (*Account, error)
	// AccountsOfEmployee returns the accounts of an insured person (normally one).
	AccountsOfEmployee(ctx context.Context, employeeID int64) ([]Account, error)
	// UpdateAccount replaces the password hash, TOTP secret and disabled flag. ENOTFOUND.
	UpdateAccount(ctx context.Context, a *Account) error
	// Accounts lists every account by id.
	Accounts(ctx context.Context) ([]Account, error)

	// AddPasskey registers a credential; ECONFLICT if its id exists. Passkeys lists an account's.
	AddPasskey(ctx context.Context, p Passkey) error
	Passkeys(ctx context.Context, accountID int64) ([]Passkey, error)
	// UpdatePasskey replaces a credential's JSON (its sign count moves at every sign-in). ENOTFOUND.
	UpdatePasskey(ctx context.Context, p Passkey) error
}

// TokenStore keeps integration tokens and operator tokens, by hash.
type TokenStore interface {
	// AddToken stores a token (by hash) and returns its id. TokenByHash returns it, ENOTFOUND if none;
	// the caller checks expiry and revocation.
	AddToken(ctx context.Context, t *Token) (int64, error)
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// RevokeToken marks a token revoked. ENOTFOUND.
	RevokeToken(ctx context.Context, id int64) error
	Tokens(ctx context.Context) ([]Token, error)

	// AddOperatorToken stores the hash of an operator bearer token; OperatorToken reports whether a
	// hash is known.
	AddOperatorToken(ctx context.Context, hash []byte, label string) error
	OperatorToken(ctx context.Context, hash []byte) (bool, error)
}
