package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"amane"
)

// TokenHash is how bearer tokens are stored: SHA-256 of the token. Tokens are 256-bit random values,
// so a fast hash is enough; a slow one would only cost every request.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewToken returns a fresh operator bearer token.
func NewToken() string { return newBearer("amane_op_") }

// NewAccessToken returns a fresh scoped bearer token (stored with Store.AddToken by its TokenHash).
func NewAccessToken() string { return newBearer("amane_tk_") }

func newBearer(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// revealable are the names ?reveal= and X-Amane-Reveal accept.
var revealable = []string{amane.RevealAll, amane.FieldCIN, amane.FieldPassport, amane.FieldRepCIN, amane.FieldEmail,
	amane.FieldPhone, amane.FieldRIB, amane.FieldMandataire}

// auth authenticates an API request and puts into its context who asks (principal), why (purpose),
// what they ask in clear (reveal), and a break-the-glass reason if given. It decides nothing else: the
// gate does.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r, "amane")
		if !ok {
			return
		}
		ctx := amane.NewContextWithPrincipal(r.Context(), p)
		if code := strings.TrimSpace(r.Header.Get("X-Amane-Purpose")); code != "" {
			ctx = amane.NewContextWithPurpose(ctx, amane.Purpose{Code: code, Reference: strings.TrimSpace(r.Header.Get("X-Amane-Reference"))})
		}
		// A break-the-glass reason: the gate checks it, and weighs it only when it binds reads to cases.
		if reason := strings.TrimSpace(r.Header.Get("X-Amane-Break-Glass")); reason != "" {
			ctx = amane.NewContextWithBreakGlass(ctx, amane.BreakGlass{Reason: reason})
		}
		reveal, err := revealOf(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(reveal) > 0 {
			ctx = amane.NewContextWithReveal(ctx, reveal...)
		}
		next(w, r.WithContext(ctx))
	}
}

// authenticate returns the principal of the request's bearer token; without a valid one it answers
// 401 (the refusal journaled within its budget) and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, realm string) (*amane.Principal, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		s.denyAnonymous(r, amane.ActionAuthenticate, "no token")
		s.error(w, r, amane.Errorf(amane.EUNAUTHORIZED, "Send a token as Authorization: Bearer <token>."))
		return nil, false
	}
	p, err := s.bearer(r, tok)
	if err != nil {
		s.denyToken(r, p, err)
		if amane.ErrorCode(err) == amane.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="invalid_token"`)
		}
		s.error(w, r, err)
		return nil, false
	}
	return p, true
}

// bearer returns the principal of a token: a scoped token first, then the operator token. A token
// that expired, was revoked or whose account is disabled is refused, with its principal returned
// beside the error (for the journal of the refusal: the account is known).
func (s *Server) bearer(r *http.Request, tok string) (*amane.Principal, error) {
	invalid := amane.Errorf(amane.EUNAUTHORIZED, "This token is not valid.")
	if len(tok) > 128 {
		return nil, invalid
	}
	h := TokenHash(tok)
	t, err := s.Store.TokenByHash(r.Context(), h)
	switch {
	case err == nil:
		exp, perr := time.Parse(time.RFC3339, t.Expires)
		if t.Revoked || perr != nil || !s.Now().Before(exp) {
			return t.Principal(), amane.Errorf(amane.EUNAUTHORIZED, "This token has expired or was revoked.")
		}
		if t.AccountID != 0 { // it acts as its account, which must still be enabled
			a, err := s.Store.Account(r.Context(), t.AccountID)
			if err != nil || a.Disabled {
				return t.Principal(), amane.Errorf(amane.EUNAUTHORIZED, "This token's account is disabled.")
			}
		}
		return t.Principal(), nil
	case amane.ErrorCode(err) != amane.ENOTFOUND:
		return nil, err
	}
	known, err := s.Store.OperatorToken(r.Context(), h)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, invalid
	}
	return &amane.Principal{ID: "operator:" + hex.EncodeToString(h[:6]), Role: amane.RoleOperator, Token: true}, nil
}

// revealOf reads the fields asked in clear: ?reveal=cin,rib or X-Amane-Reveal: cin,rib.
func revealOf(r *http.Request) ([]string, error) {
	v := r.URL.Query().Get("reveal")
	if v == "" {
		v = r.Header.Get("X-Amane-Reveal")
	}
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(revealable, f) {
			return nil, amane.Invalid("reveal names a field that is not masked; use "+strings.Join(revealable, ", ")+".",
				amane.FieldError{Field: "reveal", Rule: "one of " + strings.Join(revealable, ", ")})
		}
		out = append(out, f)
	}
	return out, nil
}
