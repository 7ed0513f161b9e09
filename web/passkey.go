package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"amane"
)

// Passkeys (WebAuthn Level 3, https://www.w3.org/TR/webauthn-3/) are the phishing-resistant way in:
// the browser signs the server's challenge with a key bound to the relying-party id, so a look-alike
// site gets nothing it can replay. Credentials are discoverable (the person picks their key, no login
// typed) and user verification (PIN or biometrics on the authenticator) is required. The server keeps
// each credential's public key and sign count (amane.Passkey.Credential: the JSON of
// webauthn.Credential, no secret). The user handle is the account's internal id, 8 bytes big-endian:
// no personal data reaches the authenticator.

const ceremonyTimeout = 5 * time.Minute

const passkeyRefused = "La clé d'accès n'a pas été acceptée. Réessayez, ou utilisez une autre clé."

// passkeyUser is an account as the WebAuthn library sees it.
type passkeyUser struct {
	account *amane.Account
	keys    []amane.Passkey
	creds   []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return userHandle(u.account.ID) }
func (u *passkeyUser) WebAuthnName() string                       { return u.account.Login }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.account.Login }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (s *Server) loadPasskeyUser(ctx context.Context, id int64) (*passkeyUser, error) {
	a, err := s.Store.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	keys, err := s.Store.Passkeys(ctx, id)
	if err != nil {
		return nil, err
	}
	u := &passkeyUser{account: a, keys: keys}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, amane.Errorf(amane.EINTERNAL, "passkey of account %d does not decode", id)
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// relyingParty is the WebAuthn configuration of this server for a request.
func (s *Server) relyingParty(r *http.Request) (*webauthn.WebAuthn, error) {
	if len(s.Config.Origins) == 0 && s.rpID() != "localhost" {
		return nil, errors.New("web: Config.Origins must list the pages' origins when RPID is not localhost")
	}
	timeouts := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout, TimeoutUVD: ceremonyTimeout}
	return webauthn.New(&webauthn.Config{
		RPID:          s.rpID(),
		RPDisplayName: "Amane",
		RPOrigins:     s.origins(r),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeouts, Registration: timeouts},
	})
}

// passkeyLoginOptions starts a discoverable sign-in: a challenge kept in the (anonymous) session.
func (s *Server) passkeyLoginOptions(w http.ResponseWriter, r *http.Request, v *visit) {
	rp, err := s.relyingParty(r)
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	assertion, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	s.sessions.setCeremony(v.key, "login", sd)
	writeJSON(w, http.StatusOK, assertion)
}

// passkeyLogin checks the signed challenge and opens a full session.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request, v *visit) {
	sd, rp, ok := s.finishCeremony(w, r, v, "login")
	if !ok {
		return
	}
	var u *passkeyUser
	find := func(rawID, handle []byte) (webauthn.User, error) {
		if len(handle) != 8 {
			return nil, errors.New("unknown user handle")
		}
		var err error
		u, err = s.loadPasskeyUser(r.Context(), int64(binary.BigEndian.Uint64(handle)))
		return u, err
	}
	_, cred, err := rp.FinishPasskeyLogin(find, *sd, r)
	if err != nil || u == nil || u.account.Disabled {
		s.Logger.Info("sign-in refused", "method", "passkey", "reason", ceremonyReason(err))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": passkeyRefused})
		return
	}
	if cred.Authenticator.CloneWarning {
		// The sign count went backwards: two authenticators hold this key. Refuse and say so in the log.
		s.Logger.Warn("passkey clone warning", "account", u.account.ID)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": passkeyRefused})
		return
	}
	if err := s.savePasskey(r.Context(), u, cred); err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	s.startSession(w, v, u.account.ID, false)
	s.Logger.Info("signed in", "account", u.account.ID, "method", "passkey")
	writeJSON(w, http.StatusOK, map[string]string{"redirect": homeOf(u.account.Role)})
}

// savePasskey stores a credential's new sign count and flags.
func (s *Server) savePasskey(ctx context.Context, u *passkeyUser, cred *webauthn.Credential) error {
	for _, k := range u.keys {
		if bytes.Equal(k.ID, cred.ID) {
			b, err := json.Marshal(cred)
			if err != nil {
				return err
			}
			k.Credential = b
			return s.Store.UpdatePasskey(ctx, k)
		}
	}
	return amane.Errorf(amane.EINTERNAL, "signed-in credential of account %d is not stored", u.account.ID)
}

type passkeyView struct {
	Keys  []amane.Passkey
	First bool
}

// passkeyPage lists the account's passkeys and offers to register one.
func (s *Server) passkeyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	keys, err := s.Store.Passkeys(r.Context(), v.account.ID)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	d := pageData{Data: passkeyView{Keys: keys, First: len(keys) == 0}}
	if r.URL.Query().Get("etat") == "ajoutee" {
		d.Flash = "La clé d'accès est enregistrée."
	}
	s.render(w, r, v, http.StatusOK, "passkey", "Clés d'accès", d)
}

// passkeyRegisterOptions starts registering a passkey for the signed-in account.
func (s *Server) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request, v *visit) {
	rp, err := s.relyingParty(r)
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	u, err := s.loadPasskeyUser(r.Context(), v.account.ID)
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	creation, sd, err := rp.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(rp.Config.AuthenticatorSelection),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	s.sessions.setCeremony(v.key, "register", sd)
	writeJSON(w, http.StatusOK, creation)
}

// passkeyRegister checks the new credential and stores it. A bootstrap session ends there, with every
// other session of the account: the next sign-in uses the passkey.
func (s *Server) passkeyRegister(w http.ResponseWriter, r *http.Request, v *visit) {
	sd, rp, ok := s.finishCeremony(w, r, v, "register")
	if !ok {
		return
	}
	u, err := s.loadPasskeyUser(r.Context(), v.account.ID)
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	cred, err := rp.FinishRegistration(u, *sd, r)
	if err != nil {
		s.Logger.Info("passkey registration refused", "account", v.account.ID, "reason", ceremonyReason(err))
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": passkeyRefused})
		return
	}
	b, err := json.Marshal(cred)
	if err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	pk := amane.Passkey{AccountID: v.account.ID, ID: cred.ID, Credential: b, Created: s.Now().UTC().Format(time.RFC3339)}
	if err := s.Store.AddPasskey(r.Context(), pk); err != nil {
		s.ceremonyError(w, r, err)
		return
	}
	s.Logger.Info("passkey registered", "account", v.account.ID)
	if v.sess.enrollOnly {
		s.sessions.endAccount(v.account.ID)
		clearSessionCookie(w)
		writeJSON(w, http.StatusOK, map[string]string{"redirect": "/connexion?etat=cle-enregistree"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/cle?etat=ajoutee"})
}

// ceremonyError answers the script when the server failed (not the person): logged, never detailed.
func (s *Server) ceremonyError(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	msg, _ := frenchError(amane.Errorf(amane.EINTERNAL, ""))
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": msg})
}

// ceremonyReason is what the log says of a refused ceremony: the protocol error's type and detail
// name a check ("Error validating origin"), never a person.
func ceremonyReason(err error) string {
	var pe *protocol.Error
	switch {
	case err == nil:
		return "disabled or unknown account"
	case errors.As(err, &pe):
		return pe.Type + ": " + pe.Details
	}
	return "unknown credential"
}

// finishCeremony takes the session's pending ceremony of this kind (begun by the matching begin
// handler) and the relying party; on failure it has answered and returns false.
func (s *Server) finishCeremony(w http.ResponseWriter, r *http.Request, v *visit, kind string) (*webauthn.SessionData, *webauthn.WebAuthn, bool) {
	sd := s.sessions.takeCeremony(v.key, kind)
	if sd == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Le délai est dépassé : recommencez."})
		return nil, nil, false
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		s.ceremonyError(w, r, err)
		return nil, nil, false
	}
	return sd, rp, true
}
