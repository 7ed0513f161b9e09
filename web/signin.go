package web

import (
	"net/http"
	"strings"

	"amane"
)

// Sign-in. Staff sign in with a passkey only; a staff account with no passkey yet may sign in with its
// password, and that session may only register a passkey (every other page redirects to /cle). Employer
// users and insured people sign in with a passkey, or with their password and a TOTP code; one with
// neither a passkey nor a TOTP secret bootstraps like staff. Every password failure — unknown login,
// wrong password, wrong code, a staff account that has a passkey, a throttled login or address — gets
// the same answer.

const signInFailed = "Identifiant, mot de passe ou code incorrect. Après plusieurs échecs, la connexion est suspendue quelques minutes."

// signInPage shows the sign-in form, opening an anonymous session for its CSRF token and its WebAuthn
// challenge.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.account != nil && !v.sess.enrollOnly {
		http.Redirect(w, r, homeOf(v.account.Role), http.StatusSeeOther)
		return
	}
	s.ensureSession(w, v)
	d := pageData{}
	switch r.URL.Query().Get("etat") {
	case "cle-enregistree":
		d.Flash = "Votre clé d'accès est enregistrée : connectez-vous avec elle."
	case "deconnecte":
		d.Flash = "Vous êtes déconnecté."
	}
	s.render(w, r, v, http.StatusOK, "signin", "Connexion", d)
}

// ensureSession opens an anonymous session if the visit has none.
func (s *Server) ensureSession(w http.ResponseWriter, v *visit) {
	if v.live {
		return
	}
	id, _ := s.sessions.create(0, false, s.Now())
	setSessionCookie(w, id)
	v.sess, v.key, v.live = s.sessions.get(id, s.Now())
}

// startSession replaces the visit's session by a new one for account (a new id at every sign-in: a
// session id planted before sign-in is worth nothing after).
func (s *Server) startSession(w http.ResponseWriter, v *visit, accountID int64, enrollOnly bool) {
	if v.live {
		s.sessions.delete(v.key)
	}
	id, _ := s.sessions.create(accountID, enrollOnly, s.Now())
	setSessionCookie(w, id)
}

// signInPassword is the password form: password + TOTP for employer users and insured people, the
// password alone for a bootstrap (registration-only) session.
func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request, v *visit) {
	login := strings.TrimSpace(r.PostFormValue("login"))
	password := r.PostFormValue("password")
	code := r.PostFormValue("code")
	addr := s.clientIP(r)
	fail := func() {
		s.throttle.signInFailed(s.Now(), login, addr)
		s.Logger.Info("sign-in refused", "method", "password")
		s.render(w, r, v, http.StatusUnauthorized, "signin", "Connexion", pageData{Error: signInFailed})
	}
	if login == "" || len(login) > 64 || password == "" || len(password) > 1024 {
		fail()
		return
	}
	if !s.throttle.signInAllowed(s.Now(), login, addr) {
		s.Logger.Info("sign-in refused", "method", "password", "throttled", true)
		s.render(w, r, v, http.StatusUnauthorized, "signin", "Connexion", pageData{Error: signInFailed})
		return
	}
	a, err := s.Store.AccountByLogin(r.Context(), login)
	if err != nil {
		if amane.ErrorCode(err) != amane.ENOTFOUND {
			s.pageError(w, r, v, err, "", "", nil)
			return
		}
		CheckPassword(dummyHash(), password)
		fail()
		return
	}
	if ok, err := CheckPassword(a.PasswordHash, password); err != nil || !ok || a.Disabled {
		fail()
		return
	}
	keys, err := s.Store.Passkeys(r.Context(), a.ID)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	enrollOnly := false
	switch {
	case len(a.TOTP) > 0 && !amane.StaffRole(a.Role):
		if !s.checkTOTP(a, code) {
			fail()
			return
		}
	case len(keys) == 0:
		enrollOnly = true // bootstrap: register a passkey, nothing else
	default:
		fail() // has a passkey and no TOTP: the passkey is the only way in
		return
	}
	s.throttle.signInSucceeded(login, addr)
	s.startSession(w, v, a.ID, enrollOnly)
	s.Logger.Info("signed in", "account", a.ID, "method", "password", "enroll_only", enrollOnly)
	if enrollOnly {
		http.Redirect(w, r, "/cle", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, homeOf(a.Role), http.StatusSeeOther)
}

// checkTOTP verifies code against the account's sealed secret; a step is accepted once per account.
func (s *Server) checkTOTP(a *amane.Account, code string) bool {
	secret, err := openTOTP(s.SecretKey, a.Login, a.TOTP)
	if err != nil {
		s.Logger.Error("totp secret does not open", "account", a.ID)
		return false
	}
	s.totpMu.Lock()
	defer s.totpMu.Unlock()
	step, ok := totpStep(secret, code, s.Now(), s.totpLast[a.ID])
	if ok {
		s.totpLast[a.ID] = step
	}
	return ok
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, v *visit) {
	s.sessions.delete(v.key)
	clearSessionCookie(w)
	http.Redirect(w, r, "/connexion?etat=deconnecte", http.StatusSeeOther)
}
