package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"amane"
	"amane/amanetest"
	"amane/sentinel"
	"amane/web"
)

// The pages, driven through a real Chromium (headless, over the DevTools protocol) with Chrome's
// virtual WebAuthn authenticator standing in for a security key. The tests skip when Chromium is
// absent, and fail instead when AMANE_TEST_BROWSER=1 (CI). Each page is saved as a PNG under
// $AMANE_ARTIFACT_DIR/screenshots/.

const chromiumPath = "/usr/bin/chromium"

func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AMANE_CHROMIUM")
	if path == "" {
		path = chromiumPath
	}
	if _, err := os.Stat(path); err != nil {
		msg := "Chromium not found at " + path + ": apt-get install chromium"
		if os.Getenv("AMANE_TEST_BROWSER") == "1" {
			t.Fatal(msg + " (AMANE_TEST_BROWSER=1 requires the browser tests)")
		}
		t.Skip(msg + " (set AMANE_TEST_BROWSER=1 to make this a failure)")
	}
	return path
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AMANE_ARTIFACT_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "amane-artifacts")
	}
	dir := filepath.Join(base, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// site is a running server with seeded records and accounts, and a browser tab on it.
type site struct {
	t       *testing.T
	r       *amanetest.Registry
	origin  string // http://localhost:PORT: WebAuthn needs the RP id "localhost", not 127.0.0.1
	key     []byte
	ctx     context.Context
	shots   string
	prefix  string
	n       int
	auth    cdpwebauthn.AuthenticatorID
	ids     map[string]int64
	secrets map[string]string // login → TOTP secret
	log     *amanetest.SyncBuffer
	live    *sentinel.Live // the sentinel, with one canary: employee/424242
}

const testPassword = "correct horse battery staple 42"

func TestBrowser(t *testing.T) { amanetest.Each(t, testBrowser) }

func newSite(t *testing.T, r *amanetest.Registry) *site {
	path := chromium(t)
	s := &site{t: t, r: r, ids: map[string]int64{}, secrets: map[string]string{}, shots: screenshotDir(t), prefix: r.Kind}
	t.Logf("screenshots: %s", s.shots)

	s.ids = seed(t, r)

	s.key = make([]byte, web.SecretKeySize)
	rand.Read(s.key)
	s.account(amane.Account{Login: "agent-0412", Role: amane.RoleAgent, Agency: "AGADIR"}, false)
	s.account(amane.Account{Login: "paie-souss", Role: amane.RoleEmployer, Affiliation: "1234567"}, true)
	s.account(amane.Account{Login: "assure-0001", Role: amane.RoleInsured, EmployeeID: s.ids["111111111"]}, true)
	s.account(amane.Account{Login: "audit-01", Role: amane.RoleAuditor}, false)
	s.account(amane.Account{Login: "declarant-souss", Role: amane.RoleEmployer, Affiliation: "1234567"}, true)
	s.account(amane.Account{Login: "superviseur-01", Role: amane.RoleSupervisor, Agency: "AGADIR"}, false)
	s.account(amane.Account{Login: "secu-01", Role: amane.RoleSecurity}, false)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.origin = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	s.log = &amanetest.SyncBuffer{}
	srv := web.NewServer(r.Gate, r.Store, slog.New(slog.NewJSONHandler(s.log, nil)))
	srv.SecretKey = s.key
	srv.Config = web.Config{RPID: "localhost", Origins: []string{s.origin}}
	srv.Attester = newAttester(t, r)
	s.live = sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), []string{"employee/424242"}))
	r.Gate.UseSentinel(s.live)
	wctx, stopWatch := context.WithCancel(context.Background())
	t.Cleanup(stopWatch)
	srv.UseSentinel(wctx, r.Gate, s.live, nil)
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container: Chromium's sandbox needs user namespaces it may not have
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	s.ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{EnableUI: new(false)}); err != nil {
		t.Fatal(err)
	}
	s.newAuthenticator()
	return s
}

// account creates an account with the test password, and a TOTP secret if asked.
func (s *site) account(a amane.Account, withTOTP bool) {
	s.t.Helper()
	h, err := web.HashPassword(testPassword)
	if err != nil {
		s.t.Fatal(err)
	}
	a.PasswordHash, a.Created = h, time.Now().UTC().Format(time.RFC3339)
	if withTOTP {
		sealed, uri, err := web.NewTOTP(s.key, a.Login)
		if err != nil {
			s.t.Fatal(err)
		}
		k, err := otp.NewKeyFromURL(uri)
		if err != nil {
			s.t.Fatal(err)
		}
		a.TOTP, s.secrets[a.Login] = sealed, k.Secret()
	}
	if _, err := s.r.Store.CreateAccount(context.Background(), &a); err != nil {
		s.t.Fatal(err)
	}
}

// newAuthenticator replaces the tab's virtual authenticator by a fresh one: a CTAP 2.1 platform
// authenticator with resident keys and user verification that always succeeds.
func (s *site) newAuthenticator() {
	s.t.Helper()
	if s.auth != "" {
		if _, err := chromedp.Call(s.ctx, cdpwebauthn.RemoveVirtualAuthenticator, cdpwebauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: s.auth}); err != nil {
			s.t.Fatal(err)
		}
	}
	res, err := chromedp.Call(s.ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.auth = res.AuthenticatorID
}

func (s *site) credentials() int {
	s.t.Helper()
	res, err := chromedp.Call(s.ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: s.auth})
	if err != nil {
		s.t.Fatal(err)
	}
	return len(res.Credentials)
}

// do runs steps and fails the test with the page's state if one fails.
func (s *site) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.fail(what, err)
	}
}

func (s *site) fail(what string, err error) {
	s.t.Helper()
	s.shot("echec-" + strings.ReplaceAll(what, " ", "-"))
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	var errs []string
	for line := range strings.Lines(s.log.String()) {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			errs = append(errs, line)
		}
	}
	s.t.Fatalf("%s: %v\nat %s\n%s\nserver errors:\n%s", what, err, loc, body, strings.Join(errs, ""))
}

func (s *site) text(sel string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.fail("read "+sel, err)
	}
	return v
}

func (s *site) location() string {
	s.t.Helper()
	loc, err := chromedp.Run(s.ctx, chromedp.Location())
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, s.origin)
}

// shot saves a PNG of the whole page.
func (s *site) shot(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	s.n++
	path := filepath.Join(s.shots, fmt.Sprintf("%s-%02d-%s.png", s.prefix, s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// signInPassword fills the password form; code is sent when the login has a TOTP secret.
func (s *site) signInPassword(login string) {
	s.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(s.origin + "/connexion"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	}
	if secret, ok := s.secrets[login]; ok {
		code, err := totp.GenerateCode(secret, time.Now())
		if err != nil {
			s.t.Fatal(err)
		}
		steps = append(steps, chromedp.SendKeys(chromedp.ID("code"), code))
	}
	steps = append(steps, chromedp.Click(chromedp.ID("connexion")), chromedp.WaitVisible(chromedp.CSS("#deconnexion")))
	s.do("sign in "+login, steps...)
}

func (s *site) signOut() {
	s.t.Helper()
	s.do("sign out", chromedp.Click(chromedp.ID("deconnexion")), chromedp.WaitVisible(chromedp.ID("passkey-signin")))
}

// enrollPasskey: a staff account's first sign-in (password) leads to the passkey page only; the
// registration ends that session, and the passkey signs in.
func (s *site) enrollPasskey(login string) {
	s.t.Helper()
	s.newAuthenticator()
	s.signInPassword(login)
	if loc := s.location(); loc != "/cle" {
		s.t.Fatalf("a staff account without a passkey landed on %s, want /cle", loc)
	}
	s.do("open a page before enrolling", chromedp.Navigate(s.origin+"/recherche"), chromedp.WaitVisible(chromedp.ID("passkey-register")))
	if loc := s.location(); loc != "/cle" {
		s.t.Fatalf("a bootstrap session reached %s, want a redirect to /cle", loc)
	}
	s.shot(login + "-cle-a-enregistrer")
	s.do("register a passkey", chromedp.Click(chromedp.ID("passkey-register")), chromedp.WaitVisible(chromedp.ID("passkey-signin")))
	if n := s.credentials(); n != 1 {
		s.t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	if got := s.text("main"); !strings.Contains(got, "clé d'accès est enregistrée") {
		s.t.Fatalf("after registration: %s", got)
	}
	s.shot(login + "-cle-enregistree")
	s.do("sign in with the passkey", chromedp.Click(chromedp.ID("passkey-signin")), chromedp.WaitVisible(chromedp.ID("deconnexion")))
}

// choosePurpose fills the purpose fields of the page's form.
func choosePurpose() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.ID("motif"), "dossier"),
		chromedp.SendKeys(chromedp.ID("reference"), "DOS-2025/0142"),
	}
}

// run runs a subtest with the site reporting to it.
func (s *site) run(name string, fn func(t *testing.T)) {
	parent := s.t
	s.t.Run(name, func(t *testing.T) {
		s.t = t
		defer func() { s.t = parent }()
		fn(t)
	})
}

func testBrowser(t *testing.T, r *amanetest.Registry) {
	s := newSite(t, r)
	benaissa := fmt.Sprint(s.ids["111111111"])
	var attestationCode string // downloaded by EmployerDeclarations, verified by VerifyAttestation

	s.run("SignInPage", func(t *testing.T) {
		s.do("open sign-in", chromedp.Navigate(s.origin+"/"), chromedp.WaitVisible(chromedp.ID("passkey-signin")))
		if loc := s.location(); loc != "/connexion" {
			t.Fatalf("/ without a session went to %s", loc)
		}
		s.shot("connexion")
	})
	s.run("AgentPasskey", func(t *testing.T) {
		s.enrollPasskey("agent-0412")
		if loc := s.location(); loc != "/recherche" {
			t.Fatalf("agent landed on %s", loc)
		}
	})
	s.run("SearchWithoutAccents", func(t *testing.T) {
		steps := append([]chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("nom"), "benaissa said")}, choosePurpose()...)
		steps = append(steps, chromedp.Click(chromedp.ID("rechercher")), chromedp.WaitVisible(chromedp.ID("resultats")))
		s.do("search", steps...)
		got := s.text("#resultats")
		if !strings.Contains(got, "Benaïssa") || !strings.Contains(got, "JA••••56") || strings.Contains(got, "Tazi") {
			t.Fatalf("results: %s", got)
		}
		s.shot("recherche")
	})
	s.run("ReadWithoutPurposeRefused", func(t *testing.T) {
		s.do("open without purpose", chromedp.Navigate(s.origin+"/salaries/"+benaissa), chromedp.WaitVisible(chromedp.ID("erreur")))
		if got := s.text("#erreur"); !strings.Contains(got, "motif est requis") {
			t.Fatalf("refusal: %s", got)
		}
		if body := s.text("main"); strings.Contains(body, "Benaïssa") || strings.Contains(body, "JA") {
			t.Fatalf("a read without purpose showed the record: %s", body)
		}
		s.shot("lecture-sans-motif")
	})
	s.run("ReadMaskedThenReveal", func(t *testing.T) {
		steps := append(choosePurpose(), chromedp.Click(chromedp.ID("consulter")), chromedp.WaitVisible(chromedp.ID("fiche")))
		s.do("read with purpose", steps...)
		if got := s.text("#cin"); got != "JA••••56" {
			t.Fatalf("cin shown %q, want masked", got)
		}
		s.shot("dossier-masque")
		s.do("reveal", chromedp.Click(chromedp.ID("reveler")), chromedp.WaitNotPresent(chromedp.ID("reveler")))
		if got := s.text("#cin"); got != "JA123456" {
			t.Fatalf("cin shown %q after reveal, want clear", got)
		}
		s.shot("dossier-en-clair")
	})
	s.run("EmployerList", func(t *testing.T) {
		s.signOut()
		s.signInPassword("paie-souss")
		if loc := s.location(); loc != "/mon-entreprise" {
			t.Fatalf("employer landed on %s", loc)
		}
		got := s.text("#salaries")
		if !strings.Contains(got, "Benaïssa") || !strings.Contains(got, "Tazi") || strings.Contains(got, "Alaoui") {
			t.Fatalf("employees: %s", got)
		}
		if rib := s.text("#rib"); !strings.HasPrefix(rib, "••••") {
			t.Fatalf("RIB shown %q, want masked", rib)
		}
		s.shot("mon-entreprise")
		s.do("another employer", chromedp.Navigate(s.origin+"/employeurs/7654321"), chromedp.WaitVisible(chromedp.ID("erreur")))
		if body := s.text("main"); strings.Contains(body, "ATLAS") || strings.Contains(body, "Alaoui") {
			t.Fatalf("an employer saw another: %s", body)
		}
		s.shot("autre-employeur-refuse")
		s.signOut()
	})
	s.run("InsuredAccessLogAndProof", func(t *testing.T) {
		dl := t.TempDir()
		if _, err := chromedp.CallBrowser(s.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
			t.Fatal(err)
		}
		s.signInPassword("assure-0001")
		if loc := s.location(); loc != "/mes-donnees" {
			t.Fatalf("insured landed on %s", loc)
		}
		log := s.text("#acces")
		if !strings.Contains(log, "Agent") || !strings.Contains(log, "Instruction d'un dossier") || !strings.Contains(log, "DOS-2025/0142") ||
			!strings.Contains(log, "AGADIR") || !strings.Contains(log, "Employeur") || !strings.Contains(log, "autorisé") {
			t.Fatalf("access log: %s", log)
		}
		s.shot("mes-donnees")
		s.do("download a proof", chromedp.Click(chromedp.CSS("a.preuve")))
		proof := waitFile(t, dl)
		var p map[string]any
		if err := json.Unmarshal(proof, &p); err != nil || p["checkpoint"] == nil || p["proof"] == nil {
			t.Fatalf("proof %s: %v", proof, err)
		}
		s.signOut()
	})
	s.run("AuditorJournal", func(t *testing.T) {
		s.enrollPasskey("audit-01")
		if loc := s.location(); loc != "/journal" {
			t.Fatalf("auditor landed on %s", loc)
		}
		// The journal holds no personal data: the auditor reads it without stating a purpose.
		s.do("journal", chromedp.WaitVisible(chromedp.ID("journal")))
		got := s.text("#journal")
		if !strings.Contains(got, "employee/"+benaissa) || !strings.Contains(got, "affichage en clair") || !strings.Contains(got, "refusé") {
			t.Fatalf("journal: %s", got)
		}
		for _, v := range []string{"JA123456", "Benaïssa", "111111111"} {
			if strings.Contains(got, v) {
				t.Errorf("the journal page shows %q", v)
			}
		}
		s.shot("journal")
		dl := t.TempDir()
		if _, err := chromedp.CallBrowser(s.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
			t.Fatal(err)
		}
		s.do("download a proof", chromedp.Click(chromedp.CSS("button.preuve")))
		if proof := waitFile(t, dl); !strings.Contains(string(proof), "checkpoint") {
			t.Fatalf("proof: %s", proof)
		}
	})
	s.run("EmployerDeclarations", func(t *testing.T) {
		dir := t.TempDir()
		good, bad := filepath.Join(dir, "DS_1234567_202410.txt"), filepath.Join(dir, "DS_1234567_202409.txt")
		if err := os.WriteFile(good, dsFile(t, r, "202410"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, broken(t, dsFile(t, r, "202409"), 3, 113, 'X'), 0o644); err != nil {
			t.Fatal(err)
		}
		s.signOut() // the auditor
		s.signInPassword("declarant-souss")
		s.do("open the declarations", chromedp.Click(chromedp.CSS(`nav a[href="/mon-entreprise/declarations"]`)), chromedp.WaitVisible(chromedp.ID("aucune-declaration")))
		s.shot("declarations-vide")
		s.do("send a file", chromedp.SetUploadFiles(chromedp.ID("fichier"), []string{good}), chromedp.Click(chromedp.ID("envoyer")), chromedp.WaitVisible(chromedp.ID("acceptee")))
		if got := s.text("#total"); got != mad("3 209,55 MAD") {
			t.Fatalf("total %q", got)
		}
		if got := s.text("#cotisations"); !strings.Contains(got, "Pensions (long terme)") || !strings.Contains(got, mad("832,65 MAD")) {
			t.Fatalf("contributions: %s", got)
		}
		s.shot("declaration-acceptee")
		s.do("back", chromedp.Click(chromedp.ID("retour")), chromedp.WaitVisible(chromedp.ID("form-declaration")))
		s.do("send a broken file", chromedp.SetUploadFiles(chromedp.ID("fichier"), []string{bad}), chromedp.Click(chromedp.ID("envoyer")), chromedp.WaitVisible(chromedp.ID("problemes")))
		if got := s.text("#problemes"); !strings.Contains(got, "N_Salaire_Reel") || !strings.Contains(got, "B02") {
			t.Fatalf("problems: %s", got)
		}
		s.shot("declaration-rejetee")
		s.do("list", chromedp.Navigate(s.origin+"/mon-entreprise/declarations"), chromedp.WaitVisible(chromedp.ID("declarations")))
		if got := s.text("#declarations"); !strings.Contains(got, "octobre 2024") || !strings.Contains(got, mad("12 500,00 MAD")) || strings.Contains(got, "septembre") {
			t.Fatalf("list: %s", got)
		}
		s.shot("declarations")
		dl := t.TempDir()
		if _, err := chromedp.CallBrowser(s.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
			t.Fatal(err)
		}
		s.do("download the third-party attestation", chromedp.Click(chromedp.ID("attestation-tiers")))
		name, pdf := waitPDF(t, dl)
		code, ok := strings.CutPrefix(strings.TrimSuffix(name, ".pdf"), "ATTESTATION_1234567_")
		if !ok || !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Fatalf("downloaded %s", name)
		}
		attestationCode = code
		s.signOut()
	})
	s.run("VerifyAttestation", func(t *testing.T) {
		if attestationCode == "" {
			t.Skip("no attestation was downloaded")
		}
		s.do("open the verification form", chromedp.Click(chromedp.CSS(`nav a[href="/verify"]`)), chromedp.WaitVisible(chromedp.ID("form-verifier")))
		s.shot("verifier-attestation")
		s.do("type the code", chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(attestationCode)), chromedp.Click(chromedp.ID("verifier")),
			chromedp.WaitVisible(chromedp.ID("statut")))
		if loc := s.location(); loc != "/verify/"+attestationCode {
			t.Fatalf("the form led to %s", loc)
		}
		if got := s.text("#statut"); got != "Attestation valide" {
			t.Fatalf("status %q", got)
		}
		main := s.text("main")
		for _, want := range []string{"Attestation d'affiliation et de déclaration", "SOUSS AGRO SARL", "octobre 2024", mad("12 500,00 MAD")} {
			if !strings.Contains(main, want) {
				t.Errorf("the page lacks %q:\n%s", want, main)
			}
		}
		for _, v := range []string{"Benaïssa", "Tazi", "111111111", "222222222", "JA123456"} {
			if strings.Contains(main, v) {
				t.Errorf("the verification page shows %q", v)
			}
		}
		s.shot("attestation-verifiee")
	})
	s.run("SupervisorDeclarationHistory", func(t *testing.T) {
		s.enrollPasskey("superviseur-01")
		steps := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(s.origin + "/employeurs/1234567"), chromedp.WaitVisible(chromedp.ID("form-motif"))}, choosePurpose()...)
		steps = append(steps, chromedp.Click(chromedp.ID("consulter")), chromedp.WaitVisible(chromedp.ID("historique")))
		s.do("employer with purpose", steps...)
		if got := s.text("#historique"); !strings.Contains(got, "octobre 2024") || !strings.Contains(got, mad("12 500,00 MAD")) {
			t.Fatalf("history: %s", got)
		}
		s.shot("historique-declarations")
		s.signOut()
	})
	s.run("SecurityConsole", func(t *testing.T) {
		// An agent touches a canary: suspended at once. The security officer reviews and lifts it.
		acc, err := s.r.Store.AccountByLogin(context.Background(), "agent-0412")
		if err != nil {
			t.Fatal(err)
		}
		agent := fmt.Sprintf("account/%d", acc.ID)
		s.live.Observe(sentinel.Event{Time: time.Now(), Principal: agent, Role: "agent", Home: "AGADIR", Action: "read",
			Record: "employee/424242", RecordHome: "AGADIR", Purpose: "dossier", Outcome: "allowed"})
		s.enrollPasskey("secu-01")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s.do("open the console", chromedp.Navigate(s.origin+"/securite"), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if strings.Contains(s.text("main"), "employee/424242") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the console does not show the canary's alert:\n%s", s.text("main"))
			}
		}
		if got := s.text("#mesures"); !strings.Contains(got, agent) || !strings.Contains(got, "suspendu") {
			t.Fatalf("measures in force: %s", got)
		}
		if got := s.text("#alertes"); !strings.Contains(got, "canary_record") || !strings.Contains(got, "canary") {
			t.Fatalf("alerts: %s", got)
		}
		s.shot("console-securite")
		s.do("lift", chromedp.Click(chromedp.CSS("button.lever")), chromedp.WaitVisible(chromedp.ID("aucune-mesure")))
		if got := s.text("main"); !strings.Contains(got, "Mesures levées pour "+agent) {
			t.Fatalf("after the lift: %s", got)
		}
		s.shot("console-securite-levee")
		s.signOut()
	})
	s.run("LogsHoldNoPersonalData", func(t *testing.T) {
		log := s.log.String()
		for _, v := range []string{"JA123456", "Benaïssa", "benaissa", "111111111", testPassword} {
			if strings.Contains(log, v) {
				t.Errorf("the server log holds %q", v)
			}
		}
	})
}

// waitFile waits for one complete file in dir and returns its content.
func waitFile(t *testing.T, dir string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".json") {
				f, err := os.Open(filepath.Join(dir, e.Name()))
				if err != nil {
					continue
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err == nil && json.Valid(b) {
					return b
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no proof was downloaded")
	return nil
}

// waitPDF waits for one complete PDF in dir and returns its name and content.
func waitPDF(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".pdf") {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil && strings.Contains(string(b[max(0, len(b)-32):]), "%%EOF") {
					return e.Name(), b
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no attestation was downloaded")
	return "", nil
}

// seed creates two employers (AGADIR and CASA-ANFA) and three insured people, and returns their
// internal ids by immatriculation.
func seed(t *testing.T, r *amanetest.Registry) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	sys := amanetest.Context(amane.RoleSystem)
	for _, aff := range []string{"1234567", "7654321"} {
		m := employer(aff)
		if aff == "7654321" {
			m["agence"], m["raison_sociale"] = "CASA-ANFA", "ATLAS NEGOCE SA"
		}
		var e amane.Employer
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if err := r.Gate.CreateEmployer(sys, &e); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []map[string]any{
		employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"),
		employee("222222222", "JB654321", "Tazi", "Said", "1234567"),
		employee("333333333", "JC111222", "Alaoui", "Nadia", "7654321"),
	} {
		var e amane.Employee
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if err := r.Gate.CreateEmployee(sys, &e); err != nil {
			t.Fatal(err)
		}
		ids[e.Immatriculation] = e.ID
	}
	return ids
}
