package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// Sessions of the pages are server-side and in memory. The browser holds only a random 256-bit id in
// the cookie __Host-amane-session (Secure, HttpOnly, SameSite=Strict, Path=/, no Domain: the __Host-
// prefix makes the browser refuse it otherwise); the server keeps SHA-256(id), so that a dump of the
// server's memory or a debug listing does not hand out live cookies.
//
// A session ends after 15 minutes without a request or 8 hours after sign-in, whichever comes first;
// at sign-in the id is replaced (no fixation). Each session has its own CSRF token, sent back by every
// state-changing form as a hidden field (or by the page's script as X-CSRF-Token) and compared in
// constant time. A restart ends every session: people sign in again.
const (
	sessionCookie   = "__Host-amane-session"
	idleTimeout     = 15 * time.Minute
	absoluteTimeout = 8 * time.Hour
	maxSessions     = 100_000 // anonymous sign-in sessions included; beyond, the oldest idle are swept
)

// session is the server's state of one browser. accountID 0 is an anonymous session: the sign-in page
// and its WebAuthn ceremony.
type session struct {
	accountID  int64
	enrollOnly bool // signed in with a password only: may register a passkey and nothing else
	csrf       string
	created    time.Time
	seen       time.Time
	ceremony   *webauthn.SessionData // the WebAuthn ceremony in progress, if any
	ceremonyOf string                // "login" or "register"
}

type sessionKey [sha256.Size]byte

type sessionStore struct {
	mu        sync.Mutex
	m         map[sessionKey]*session
	lastSweep time.Time
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[sessionKey]*session{}} }

func keyOf(id string) sessionKey { return sha256.Sum256([]byte(id)) }

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session and returns its id (the cookie value) and key.
func (st *sessionStore) create(accountID int64, enrollOnly bool, now time.Time) (string, sessionKey) {
	id := randomToken()
	k := keyOf(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= maxSessions || now.Sub(st.lastSweep) > time.Minute {
		st.sweep(now)
	}
	st.m[k] = &session{accountID: accountID, enrollOnly: enrollOnly, csrf: randomToken(), created: now, seen: now}
	return id, k
}

// sweep drops expired sessions; if the store is still full, it drops anonymous ones. The caller holds mu.
func (st *sessionStore) sweep(now time.Time) {
	st.lastSweep = now
	for k, s := range st.m {
		if expired(s, now) {
			delete(st.m, k)
		}
	}
	for k, s := range st.m {
		if len(st.m) < maxSessions {
			break
		}
		if s.accountID == 0 {
			delete(st.m, k)
		}
	}
}

func expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) > idleTimeout || now.Sub(s.created) > absoluteTimeout
}

// get returns a copy of the live session with id and touches it; false if none or expired.
func (st *sessionStore) get(id string, now time.Time) (session, sessionKey, bool) {
	k := keyOf(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if !ok {
		return session{}, k, false
	}
	if expired(s, now) {
		delete(st.m, k)
		return session{}, k, false
	}
	s.seen = now
	return *s, k, true
}

func (st *sessionStore) delete(k sessionKey) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, k)
}

// endAccount deletes every session of an account and returns how many there were.
func (st *sessionStore) endAccount(accountID int64) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for k, s := range st.m {
		if s.accountID == accountID {
			delete(st.m, k)
			n++
		}
	}
	return n
}

// setCeremony keeps the WebAuthn ceremony data of a session (a new ceremony replaces the previous).
func (st *sessionStore) setCeremony(k sessionKey, kind string, sd *webauthn.SessionData) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if ok {
		s.ceremony, s.ceremonyOf = sd, kind
	}
	return ok
}

// takeCeremony returns and forgets the ceremony of a session: a challenge is answered once.
func (st *sessionStore) takeCeremony(k sessionKey, kind string) *webauthn.SessionData {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if !ok || s.ceremonyOf != kind {
		return nil
	}
	sd := s.ceremony
	s.ceremony, s.ceremonyOf = nil, ""
	return sd
}

// EndSessions ends every session of an account at once (containment: a suspended or compromised
// account loses its way in immediately, not at the next timeout).
func (s *Server) EndSessions(accountID int64) {
	if n := s.sessions.endAccount(accountID); n > 0 {
		s.Logger.Info("sessions ended", "account", accountID, "sessions", n)
	}
}

// setSessionCookie sets the session cookie without an expiry: the browser drops it when it closes
// (a shared agency computer keeps nothing), and the server ends it anyway after the timeouts.
func setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// sessionOf returns the live session the request's cookie names.
func (s *Server) sessionOf(r *http.Request) (session, sessionKey, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return session{}, sessionKey{}, false
	}
	return s.sessions.get(c.Value, s.Now())
}

// checkCSRF compares the request's token (form field csrf, or header X-CSRF-Token for the script's
// JSON calls) with the session's in constant time.
func checkCSRF(r *http.Request, sess session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(sess.csrf)) == 1
}
