package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"amane"
)

// Pages: server-rendered html/template, one layout, French first. No inline script or style: the
// Content-Security-Policy below forbids both, so an injected <script> or style attribute does nothing.
// The only script, static/amane.js, runs the WebAuthn ceremonies.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageCSP is the policy of every page, set in pageHeaders and nowhere else.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHeaders completes secureHeaders for pages. Referrer-Policy is same-origin, not no-referrer: with
// no-referrer, browsers send "Origin: null" on form posts and the origin check below could not tell
// Amane's own forms from a sandboxed attacker's. Page URLs hold only internal ids, and no referrer
// ever leaves the site.
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), publickey-credentials-get=(self), publickey-credentials-create=(self)")
}

// PageRoutes lists the patterns of the pages (not part of the API document).
var PageRoutes = []string{
	"GET /{$}",
	"GET /static/{file}",
	"GET /connexion",
	"POST /connexion",
	"POST /connexion/cle/options",
	"POST /connexion/cle",
	"POST /deconnexion",
	"GET /cle",
	"POST /cle/options",
	"POST /cle",
	"GET /recherche",
	"POST /recherche",
	"GET /salaries/{id}",
	"POST /salaries/{id}",
	"GET /employeurs/{affiliation}",
	"POST /employeurs/{affiliation}",
	"GET /mon-entreprise",
	"GET /mon-entreprise/declarations",
	"POST /mon-entreprise/declarations",
	"GET /mon-entreprise/declarations/{period}/fichier",
	"GET /mon-entreprise/preetabli",
	"POST /mon-entreprise/attestations",
	"GET /mes-donnees",
	"POST /mes-donnees/attestations",
	"POST /employeurs/{affiliation}/attestations",
	"GET /verify",
	"GET /verify/{code}",
	"GET /preuves/{index}",
	"POST /preuves/{index}",
	"GET /journal",
	"POST /journal",
	"GET /securite",
	"POST /securite/lever",
}

// access is what a page needs of its visitor.
type access int

const (
	anyone    access = iota // no session needed (sign-in)
	enrolling               // signed in, possibly with a password only, to register a passkey
	member                  // fully signed in
)

// visit is the session and account of a page request.
type visit struct {
	sess    session
	key     sessionKey
	live    bool           // a session exists (anonymous or not)
	account *amane.Account // nil when not signed in
}

func (v *visit) principal() *amane.Principal {
	if v.account == nil {
		return nil
	}
	return v.account.Principal()
}

func (v *visit) staff() bool { return v.account != nil && amane.StaffRole(v.account.Role) }

type pageHandler func(w http.ResponseWriter, r *http.Request, v *visit)

func (s *Server) pageRoutes() {
	h := map[string]http.HandlerFunc{
		"GET /{$}":                       s.page(anyone, false, s.home),
		"GET /static/{file}":             s.static,
		"GET /connexion":                 s.page(anyone, false, s.signInPage),
		"POST /connexion":                s.page(anyone, false, s.signInPassword),
		"POST /connexion/cle/options":    s.page(anyone, true, s.passkeyLoginOptions),
		"POST /connexion/cle":            s.page(anyone, true, s.passkeyLogin),
		"POST /deconnexion":              s.page(anyone, false, s.signOut),
		"GET /cle":                       s.page(enrolling, false, s.passkeyPage),
		"POST /cle/options":              s.page(enrolling, true, s.passkeyRegisterOptions),
		"POST /cle":                      s.page(enrolling, true, s.passkeyRegister),
		"GET /recherche":                 s.page(member, false, s.searchPage),
		"POST /recherche":                s.page(member, false, s.searchPage),
		"GET /salaries/{id}":             s.page(member, false, s.employeePage),
		"POST /salaries/{id}":            s.page(member, false, s.employeePage),
		"GET /employeurs/{affiliation}":  s.page(member, false, s.employerPage),
		"POST /employeurs/{affiliation}": s.page(member, false, s.employerPage),
		"GET /mon-entreprise":            s.page(member, false, s.myCompanyPage),
		"GET /mes-donnees":               s.page(member, false, s.myDataPage),
		"GET /preuves/{index}":           s.page(member, false, s.proofDownload),
		"POST /preuves/{index}":          s.page(member, false, s.proofDownload),
		"GET /journal":                   s.page(member, false, s.journalPage),
		"POST /journal":                  s.page(member, false, s.journalPage),
		"GET /securite":                  s.page(member, false, s.securityPage),
		"POST /securite/lever":           s.page(member, false, s.liftPrincipal),
	}
	maps.Copy(h, s.declarationPages())
	maps.Copy(h, s.attestationPages())
	for _, p := range PageRoutes {
		s.mux.HandleFunc(p, h[p])
	}
}

// page wraps a page handler: the page headers, the session, CSRF and origin on every state-changing
// request, and the principal of the signed-in account in the context. json marks the script's
// endpoints, which answer errors in JSON.
func (s *Server) page(need access, json bool, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w.Header())
		v := &visit{}
		v.sess, v.key, v.live = s.sessionOf(r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !v.live || !s.sameOrigin(r) || !checkCSRF(r, v.sess) {
				s.refuse(w, r, v, json, http.StatusForbidden, "La page a expiré ou la demande ne vient pas d'Amane : rechargez la page et recommencez.")
				return
			}
		}
		if v.live && v.sess.accountID != 0 {
			a, err := s.Store.Account(r.Context(), v.sess.accountID)
			if err != nil || a.Disabled {
				if err != nil && amane.ErrorCode(err) != amane.ENOTFOUND {
					s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
				}
				s.sessions.delete(v.key)
				v.live = false
			} else {
				v.account = a
				r = r.WithContext(amane.NewContextWithPrincipal(r.Context(), a.Principal()))
			}
		}
		switch {
		case need >= enrolling && v.account == nil:
			if json {
				s.refuse(w, r, v, json, http.StatusUnauthorized, "Votre session a expiré : reconnectez-vous.")
				return
			}
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
			return
		case need == member && v.sess.enrollOnly:
			http.Redirect(w, r, "/cle", http.StatusSeeOther)
			return
		}
		h(w, r, v)
	}
}

// sameOrigin checks the Origin header browsers send with every POST, when present: defense in depth
// beside SameSite=Strict and the CSRF token.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	return slices.Contains(s.origins(r), o)
}

// origins are the origins the pages may be used from (see Config.Origins).
func (s *Server) origins(r *http.Request) []string {
	if len(s.Config.Origins) > 0 {
		return s.Config.Origins
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return []string{scheme + "://" + r.Host}
}

func (s *Server) rpID() string {
	if s.Config.RPID == "" {
		return "localhost"
	}
	return s.Config.RPID
}

// refuse answers a refused page request: JSON for the script, a page otherwise.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, v *visit, json bool, status int, msg string) {
	if json {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	s.render(w, r, v, status, "error", "Erreur", pageData{Error: msg})
}

// pageData is what every template receives besides the layout's fields.
type pageData struct {
	Error  string   // a French message
	Fields []string // French lines, one per field problem
	Flash  string   // a French notice
	Data   any
}

// layoutData is the template's root.
type layoutData struct {
	pageData
	Title   string
	CSRF    string
	Login   string
	Role    string
	Staff   bool
	Enroll  bool
	Nav     []navLink
	JS, CSS string
}

type navLink struct{ Href, Label string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, d pageData) {
	t := s.templates[name]
	ld := layoutData{pageData: d, Title: title, JS: assetURL("amane.js"), CSS: assetURL("amane.css")}
	if v != nil && v.live {
		ld.CSRF = v.sess.csrf
	}
	if v != nil && v.account != nil {
		ld.Login, ld.Role, ld.Staff, ld.Enroll = v.account.Login, roleLabel(v.account.Role), v.staff(), v.sess.enrollOnly
		if !v.sess.enrollOnly {
			ld.Nav = navOf(v.account.Role)
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", ld); err != nil {
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
		http.Error(w, "Erreur interne.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageError renders err in French on the error page, or with the page name's template and data.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, v *visit, err error, name, title string, data any) {
	code := amane.ErrorCode(err)
	if code == amane.EUNAUTHORIZED {
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	}
	if code == amane.EINTERNAL {
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	}
	msg, fields := frenchError(err)
	if name == "" {
		name, title = "error", "Erreur"
	}
	s.render(w, r, v, errorStatus[code], name, title, pageData{Error: msg, Fields: fields, Data: data})
}

var codeFR = map[string]string{
	amane.EINVALID:      "La demande n'est pas valide.",
	amane.ENOTFOUND:     "Aucun dossier ne correspond.",
	amane.ECONFLICT:     "Le dossier existe déjà ou a changé entre-temps.",
	amane.EUNAUTHORIZED: "Votre session a expiré : reconnectez-vous.",
	amane.EFORBIDDEN:    "Accès refusé : ce dossier n'est pas dans votre périmètre, ou cette consultation demande un motif.",
	amane.ETHROTTLED:    "Trop de consultations en peu de temps : patientez une seconde entre deux demandes.",
	amane.EINTERNAL:     "Une erreur interne est survenue ; elle a été enregistrée. Réessayez plus tard.",
}

var fieldFR = map[string]string{
	"purpose":         "Motif : choisissez dans la liste la raison de cette consultation.",
	"reference":       "Référence : le numéro de dossier au format du motif choisi (indiqué dans la liste, par ex. DOS-AAAA/NNNN) — jamais l'identifiant d'une personne.",
	"name":            "Nom : saisissez au moins un mot du nom.",
	"query":           "Nom : saisissez au moins un mot du nom.",
	"cin":             "CIN : le format n'est pas valide.",
	"passeport":       "Passeport : le format n'est pas valide.",
	"immatriculation": "Immatriculation : 9 chiffres.",
	"affiliation":     "Affiliation : 7 chiffres.",
	"reveal":          "Affichage en clair : champ inconnu.",
	"avant":           "Page : index du journal invalide.",
}

// frenchError returns the French message of err and one French line per field problem. The gate's
// messages are English and name fields and rules, never values; pages translate by code and field.
func frenchError(err error) (string, []string) {
	msg := codeFR[amane.ErrorCode(err)]
	var ae *amane.Error
	var fields []string
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			line, ok := fieldFR[f.Field]
			if !ok {
				line = f.Field + " : valeur refusée."
			}
			if !slices.Contains(fields, line) {
				fields = append(fields, line)
			}
			if f.Field == "purpose" {
				msg = "Un motif est requis pour consulter ce dossier : choisissez-le ci-dessous et indiquez la référence du dossier."
			}
		}
	}
	return msg, fields
}

func roleLabel(role string) string {
	switch role {
	case amane.RoleAgent:
		return "Agent"
	case amane.RoleSupervisor:
		return "Superviseur"
	case amane.RoleEmployer:
		return "Employeur"
	case amane.RoleInsured:
		return "Assuré"
	case amane.RoleDPO:
		return "Délégué à la protection des données"
	case amane.RoleSecurity:
		return "Sécurité"
	case amane.RoleAuditor:
		return "Auditeur"
	case amane.RoleOperator:
		return "Opérateur (intégration)"
	case amane.RoleSystem:
		return "Système"
	}
	return role
}

// homeOf is where a role lands after sign-in.
func homeOf(role string) string {
	switch role {
	case amane.RoleAgent, amane.RoleSupervisor:
		return "/recherche"
	case amane.RoleEmployer:
		return "/mon-entreprise"
	case amane.RoleInsured:
		return "/mes-donnees"
	case amane.RoleAuditor, amane.RoleDPO:
		return "/journal"
	case amane.RoleSecurity:
		return "/securite"
	}
	return "/cle"
}

func navOf(role string) []navLink {
	var out []navLink
	switch role {
	case amane.RoleAgent, amane.RoleSupervisor:
		out = append(out, navLink{"/recherche", "Recherche"})
	case amane.RoleEmployer:
		out = append(out, navLink{"/mon-entreprise", "Mon entreprise"}, navLink{"/mon-entreprise/declarations", "Déclarations"})
	case amane.RoleInsured:
		out = append(out, navLink{"/mes-donnees", "Mes données"})
	case amane.RoleAuditor, amane.RoleDPO:
		out = append(out, navLink{"/journal", "Journal des accès"}, navLink{"/securite", "Console de sécurité"})
	case amane.RoleSecurity:
		out = append(out, navLink{"/securite", "Console de sécurité"})
	}
	return append(out, navLink{"/cle", "Mes clés d'accès"})
}

// Templates: the layout and one file per page, parsed once.
var pageNames = []string{"error", "signin", "passkey", "search", "employee", "employer", "mydata", "journal",
	"declarations", "declaration_report", "verify", "security"}

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"role":    roleLabel,
		"outcome": outcomeLabel,
		"when":    formatTime,
		"state":   stateLabel,
		"inc":     func(i int) int { return i + 1 },
		"action":  actionLabel,
		"mad":     formatMAD,
		"count":   formatCount,
		"periode": periodLabel,
		"statut":  declStatusLabel,
		"branche": branchLabel,
		"verdict": statusLabel,
		"plage":   periodRangeLabel,
		"jour":    dateLabel,
		"mesure":  responseLabel,
	}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		out[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
	}
	return out
}

func outcomeLabel(o amane.Outcome) string {
	switch strings.ToLower(string(o)) {
	case "allow", "allowed", "granted", "ok", "permit", "permitted":
		return "autorisé"
	case "deny", "denied", "refused", "forbidden", "refuse":
		return "refusé"
	case "error", "failed":
		return "échec"
	}
	return string(o)
}

// actionLabel names a journal action in French (the gate's action names).
func actionLabel(a amane.Action) string {
	switch a {
	case amane.ActionRead:
		return "consultation"
	case amane.ActionReveal:
		return "affichage en clair"
	case amane.ActionSearch:
		return "recherche"
	case amane.ActionCreate:
		return "création"
	case amane.ActionUpdate:
		return "modification"
	case amane.ActionErase:
		return "effacement"
	case amane.ActionAccessLog:
		return "lecture de ce journal"
	case amane.ActionProof:
		return "preuve"
	case amane.ActionJournal:
		return "lecture du journal"
	case amane.ActionAttest:
		return "attestation délivrée"
	case amane.ActionRevoke:
		return "attestation révoquée"
	}
	return string(a)
}

func stateLabel(st string) string {
	switch st {
	case amane.EmploymentValidated:
		return "validée"
	case amane.EmploymentPending:
		return "en attente"
	case amane.EmploymentRejected:
		return "rejetée"
	}
	return st
}

func formatTime(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	return t.UTC().Format("02/01/2006 15:04:05 UTC")
}

// assetURL names a static file with a checksum of its content, so that a changed file is never taken
// from a stale cache.
func assetURL(name string) string {
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		return "/static/" + name
	}
	sum := sha256.Sum256(b)
	return "/static/" + name + "?v=" + hex.EncodeToString(sum[:6])
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *visit) {
	switch {
	case v.account == nil:
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
	case v.sess.enrollOnly:
		http.Redirect(w, r, "/cle", http.StatusSeeOther)
	default:
		http.Redirect(w, r, homeOf(v.account.Role), http.StatusSeeOther)
	}
}
