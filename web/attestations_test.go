package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/gate"
	"amane/web"
)

// Attestations over the API and the pages, on both stores, with a real gate and a demo PKI signer.
// The registry is seed's: 1234567 declares Benaïssa (111111111) and Tazi (222222222) for 202409 and
// 202410, 7654321 declares Alaoui (333333333) for 202410.

// testAttester is what package main wires: the gate decides and journals, attest renders and signs.
type testAttester struct {
	g      *gate.Gate
	signer *attest.Signer

	mu     sync.Mutex
	status *gate.Gate // answers Status; a gate with a later clock shows expiry
}

func newAttester(t *testing.T, r *amanetest.Registry) *testAttester {
	t.Helper()
	dir := t.TempDir()
	if err := attest.CreateDemoPKI(dir); err != nil {
		t.Fatal(err)
	}
	signer, err := attest.LoadSigner(filepath.Join(dir, attest.DemoCertFile), filepath.Join(dir, attest.DemoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return &testAttester{g: r.Gate, signer: signer, status: r.Gate}
}

func (a *testAttester) Issue(ctx context.Context, kind, affiliation, imm, from, to string) ([]byte, *attest.Summary, error) {
	docs, errs, err := a.g.Attestations(ctx, []gate.AttestationRequest{{Kind: kind, Affiliation: affiliation, Imm: imm, From: from, To: to}})
	if err != nil {
		return nil, nil, err
	}
	if errs[0] != nil {
		return nil, nil, errs[0]
	}
	doc := docs[0]
	doc.VerifyURL = "http://localhost/verify"
	pdf, err := attest.Render(doc)
	if err != nil {
		return nil, nil, err
	}
	issued, err := time.Parse(time.RFC3339, doc.Summary.Issued)
	if err != nil {
		return nil, nil, err
	}
	if pdf, err = a.signer.Sign(pdf, issued); err != nil {
		return nil, nil, err
	}
	return pdf, &doc.Summary, nil
}

func (a *testAttester) Status(ctx context.Context, code string) (*attest.Summary, string, error) {
	a.mu.Lock()
	g := a.status
	a.mu.Unlock()
	return g.AttestationStatus(ctx, code)
}

// later makes Status answer as if at now+d (a gate over the same store: Status journals nothing).
func (a *testAttester) later(r *amanetest.Registry, d time.Duration) {
	g := gate.New(r.Store, r.Vault)
	g.Now = func() time.Time { return time.Now().Add(d) }
	a.mu.Lock()
	a.status = g
	a.mu.Unlock()
}

// declareForAttestations stores the declarations the attestations cover.
func declareForAttestations(t *testing.T, r *amanetest.Registry) {
	t.Helper()
	sys := amanetest.Context(amane.RoleSystem)
	line := func(imm string, salary int64) amane.DeclarationLine {
		return amane.DeclarationLine{Imm: imm, Days: 26, Salary: salary, Capped: min(salary, 600000)}
	}
	for _, d := range []*amane.Declaration{
		{Affiliation: "1234567", Period: "202409", Lines: []amane.DeclarationLine{line("111111111", 800000), line("222222222", 450000)}},
		{Affiliation: "1234567", Period: "202410", Lines: []amane.DeclarationLine{line("111111111", 800000), line("222222222", 450000)}},
		{Affiliation: "7654321", Period: "202410", Lines: []amane.DeclarationLine{line("333333333", 450000)}},
	} {
		res, err := r.Gate.SubmitDeclaration(sys, d)
		if err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("declare %s %s: %v %+v", d.Affiliation, d.Period, err, res)
		}
	}
}

// personal are values no verification answer may hold.
var personal = []string{"Benaïssa", "BENAISSA", "Tazi", "TAZI", "Alaoui", "Saïd", "111111111", "222222222", "333333333", "JA123456", "JB654321", "Ouazzani"}

func holdsPersonal(t *testing.T, what, body string) {
	t.Helper()
	for _, v := range personal {
		if strings.Contains(body, v) {
			t.Errorf("%s holds %q", what, v)
		}
	}
}

// attestationFixture is an API server with an Attester, the registry seeded and declared.
type attestationFixture struct {
	*apiFixture
	att *testAttester
	ids map[string]int64
}

func newAttestationAPI(t *testing.T, r *amanetest.Registry) *attestationFixture {
	t.Helper()
	ids := seed(t, r)
	declareForAttestations(t, r)
	token := web.NewToken()
	if err := r.Store.AddOperatorToken(context.Background(), web.TokenHash(token), "test"); err != nil {
		t.Fatal(err)
	}
	log := &amanetest.SyncBuffer{}
	srv := web.NewServer(r.Gate, r.Store, slog.New(slog.NewJSONHandler(log, nil)))
	att := newAttester(t, r)
	srv.Attester = att
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &attestationFixture{apiFixture: &apiFixture{url: hs.URL, token: token, log: log}, att: att, ids: ids}
}

// issue posts an attestation request with token (no purpose headers) and returns the response and body.
func (a *attestationFixture) issue(t *testing.T, path string, body any, token string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest("POST", a.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// get fetches path with an Accept header, no token.
func get(t *testing.T, base, path, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// checkPDF checks a signed attestation's answer and returns its code.
func checkPDF(t *testing.T, resp *http.Response, body []byte, status int, aff string) string {
	t.Helper()
	code := resp.Header.Get("X-Amane-Code")
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("%d %v %.200s", resp.StatusCode, resp.Header, body)
	}
	if c, err := attest.ParseCode(code); err != nil || c != code {
		t.Fatalf("X-Amane-Code %q: %v", code, err)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="ATTESTATION_`+aff+`_`+code+`.pdf"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if !bytes.Contains(body, []byte("/ByteRange")) || !bytes.Contains(body, []byte("adbe.pkcs7.detached")) && !bytes.Contains(body, []byte("ETSI.CAdES.detached")) {
		t.Errorf("the PDF carries no signature")
	}
	return code
}

// verified fetches the JSON verification of code.
func verified(t *testing.T, base, code string) (int, map[string]any, string) {
	t.Helper()
	resp, body := get(t, base, "/api/v1/verify/"+code, "")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
	}
	return resp.StatusCode, m, body
}

func TestAttestationsAPI(t *testing.T) { amanetest.Each(t, testAttestationsAPI) }

func testAttestationsAPI(t *testing.T, r *amanetest.Registry) {
	a := newAttestationAPI(t, r)
	employerTok := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567", Label: "paie"})
	otherTok := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "7654321", Label: "paie"})
	insuredTok := addToken(t, r, amane.Token{Role: amane.RoleInsured, EmployeeID: a.ids["111111111"]})
	const path = "/api/v1/employers/1234567/attestations"
	var nominative, thirdParty, salary string

	t.Run("EmployerNominative", func(t *testing.T) {
		resp, b := a.issue(t, path, map[string]any{"type": attest.KindEmployees}, employerTok)
		nominative = checkPDF(t, resp, b, 201, "1234567")
		code, m, body := verified(t, a.url, nominative)
		months, _ := m["mois"].([]any)
		if code != 200 || m["statut"] != amane.AttestationValid || m["type"] != attest.KindEmployees || m["code"] != nominative ||
			m["titre"] != "Attestation des salariés déclarés" || m["raison_sociale"] != "SOUSS AGRO SARL" || m["affiliation"] != "1234567" ||
			m["du"] != "202409" || m["au"] != "202410" || len(months) != 2 {
			t.Fatalf("%d %s", code, body)
		}
		if mo := months[1].(map[string]any); mo["periode"] != "202410" || mo["effectif"] != 2.0 || mo["masse_salariale"] != float64(goodPayroll) {
			t.Fatalf("month %v", mo)
		}
		holdsPersonal(t, "the verification JSON", body)
	})
	t.Run("ThirdPartyPeriod", func(t *testing.T) {
		resp, b := a.issue(t, path, map[string]any{"type": attest.KindThirdParty, "du": "202410", "au": "202410"}, employerTok)
		thirdParty = checkPDF(t, resp, b, 201, "1234567")
		code, m, body := verified(t, a.url, thirdParty)
		if months, _ := m["mois"].([]any); code != 200 || m["type"] != attest.KindThirdParty || len(months) != 1 || m["du"] != "202410" {
			t.Fatalf("%d %s", code, body)
		}
		// Staff (the operator token) issue it too, stating a purpose.
		resp, b = a.raw(t, "POST", path, "application/json", strings.NewReader(`{"type":"affiliation-declaration"}`), a.token, nil)
		checkPDF(t, resp, b, 201, "1234567")
		resp, b = a.issue(t, path, map[string]any{"type": attest.KindThirdParty}, a.token)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"purpose"`) {
			t.Fatalf("staff without a purpose: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("ErrOtherEmployer", func(t *testing.T) {
		for _, kind := range []string{attest.KindEmployees, attest.KindThirdParty} { // answered as an unknown affiliation
			if resp, b := a.issue(t, path, map[string]any{"type": kind}, otherTok); resp.StatusCode != 404 {
				t.Fatalf("%s: %d %s, want 404", kind, resp.StatusCode, b)
			}
		}
		if resp, b := a.issue(t, path, map[string]any{"type": attest.KindThirdParty}, insuredTok); resp.StatusCode != 403 {
			t.Fatalf("an insured token: %d %s, want 403", resp.StatusCode, b)
		}
	})
	t.Run("ErrInput", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			field      string
		}{
			{"Salary", path, map[string]any{"type": attest.KindSalary}, 400, "type"},
			{"NoType", path, map[string]any{}, 400, "type"},
			{"Period", path, map[string]any{"type": attest.KindThirdParty, "du": "2024-10"}, 400, "du"},
			{"Reversed", path, map[string]any{"type": attest.KindThirdParty, "du": "202410", "au": "202409"}, 400, "au"},
			{"UnknownField", path, map[string]any{"type": attest.KindThirdParty, "salaire": 1}, 400, "salaire"},
			{"Affiliation", "/api/v1/employers/123/attestations", map[string]any{"type": attest.KindThirdParty}, 400, "affiliation"},
			{"NoDeclaration", path, map[string]any{"type": attest.KindThirdParty, "du": "202001", "au": "202003"}, 404, ""},
			{"MeType", "/api/v1/me/attestations", map[string]any{"type": attest.KindEmployees}, 400, "type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok := employerTok
				if strings.HasPrefix(tc.path, "/api/v1/me/") {
					tok = insuredTok
				}
				resp, b := a.issue(t, tc.path, tc.body, tok)
				var m map[string]any
				json.Unmarshal(b, &m)
				if resp.StatusCode != tc.status || (tc.field != "" && strings.Join(fieldsOf(m), ",") != tc.field) {
					t.Fatalf("%d %s, want %d naming %q", resp.StatusCode, b, tc.status, tc.field)
				}
			})
		}
		if resp, b := a.issue(t, path, map[string]any{"type": attest.KindThirdParty}, ""); resp.StatusCode != 401 {
			t.Fatalf("no token: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("InsuredSalary", func(t *testing.T) {
		resp, b := a.issue(t, "/api/v1/me/attestations", nil, insuredTok)
		salary = checkPDF(t, resp, b, 201, "1234567")
		code, m, body := verified(t, a.url, salary)
		if code != 200 || m["type"] != attest.KindSalary || m["titre"] != "Attestation de salaire" || m["mois"] != nil ||
			m["du"] != "202409" || m["au"] != "202410" || m["statut"] != amane.AttestationValid {
			t.Fatalf("%d %s", code, body)
		}
		holdsPersonal(t, "the salary verification JSON", body)
		resp, b = a.issue(t, "/api/v1/me/attestations", map[string]any{"type": attest.KindSalary, "du": "202410"}, insuredTok)
		checkPDF(t, resp, b, 201, "1234567")
		if resp, b := a.issue(t, "/api/v1/me/attestations", nil, employerTok); resp.StatusCode != 403 {
			t.Fatalf("an employer token: %d %s, want 403", resp.StatusCode, b)
		}
	})
	t.Run("VerifyPage", func(t *testing.T) {
		resp, body := get(t, a.url, "/verify/"+nominative, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, want := range []string{"Vérification d&#39;une attestation", `id="statut"`, "Attestation valide", "Attestation des salariés déclarés",
			"SOUSS AGRO SARL", "1234567", "septembre 2024 – octobre 2024", "octobre 2024", mad("12 500,00 MAD"), gate.Issuer, nominative, `id="mois"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if inlineRE.MatchString(body) {
			t.Errorf("the page has inline script or style")
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		holdsPersonal(t, "the verification page", body)
		// The same route answers JSON to a client that asks for it, in any spelling of the code.
		resp, body = get(t, a.url, "/verify/"+url.PathEscape(strings.ToLower(strings.ReplaceAll(nominative, "-", " "))), "application/json")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != 200 || m["code"] != nominative || m["statut"] != "valide" {
			t.Fatalf("JSON: %d %s", resp.StatusCode, body)
		}
		// The salary attestation's page names no one either.
		resp, body = get(t, a.url, "/verify/"+salary, "")
		if resp.StatusCode != 200 || !strings.Contains(body, "Attestation de salaire") || strings.Contains(body, `id="mois"`) {
			t.Fatalf("salary: %d %s", resp.StatusCode, body)
		}
		holdsPersonal(t, "the salary verification page", body)
	})
	t.Run("Revoked", func(t *testing.T) {
		if err := r.Gate.RevokeAttestation(amanetest.Context(amane.RoleSystem), thirdParty, "période erronée"); err != nil {
			t.Fatal(err)
		}
		if code, m, body := verified(t, a.url, thirdParty); code != 200 || m["statut"] != amane.AttestationRevoked {
			t.Fatalf("%d %s", code, body)
		}
		resp, body := get(t, a.url, "/verify/"+thirdParty, "")
		if resp.StatusCode != 200 || !strings.Contains(body, "Attestation révoquée") || strings.Contains(body, "Attestation valide") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if code, m, _ := verified(t, a.url, nominative); code != 200 || m["statut"] != amane.AttestationValid {
			t.Fatalf("another attestation: %v", m)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		a.att.later(r, attest.Validity+time.Hour)
		defer a.att.later(r, 0)
		if code, m, body := verified(t, a.url, nominative); code != 200 || m["statut"] != amane.AttestationExpired {
			t.Fatalf("%d %s", code, body)
		}
		if resp, body := get(t, a.url, "/verify/"+nominative, ""); !strings.Contains(body, "Attestation expirée") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		bad := nominative[:len(nominative)-1] + map[bool]string{true: "1", false: "2"}[strings.HasSuffix(nominative, "2")] // a wrong check character
		for _, c := range []string{bad, "AMN-12345", "hello"} {
			if code, m, body := verified(t, a.url, c); code != 400 || strings.Join(fieldsOf(m), ",") != "code" {
				t.Fatalf("%s: %d %s", c, code, body)
			}
		}
		resp, body := get(t, a.url, "/verify/"+bad, "")
		if resp.StatusCode != 400 || !strings.Contains(body, "pas un code de vérification") || !strings.Contains(body, `id="form-verifier"`) {
			t.Fatalf("page: %d %s", resp.StatusCode, body)
		}
		if inlineRE.MatchString(body) {
			t.Errorf("the page has inline script or style")
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if code, m, body := verified(t, a.url, attest.NewCode()); code != 404 || m["error"].(map[string]any)["code"] != "not_found" {
			t.Fatalf("%d %s", code, body)
		}
		resp, body := get(t, a.url, "/verify/"+attest.NewCode(), "")
		if resp.StatusCode != 404 || !strings.Contains(body, "Aucune attestation ne porte ce code") {
			t.Fatalf("page: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Form", func(t *testing.T) {
		resp, body := get(t, a.url, "/verify", "")
		if resp.StatusCode != 200 || !strings.Contains(body, `<form method="get" action="/verify" id="form-verifier"`) || inlineRE.MatchString(body) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		typed := " " + strings.ToLower(strings.ReplaceAll(nominative, "-", " ")) + " "
		resp, _ = get(t, a.url, "/verify?code="+url.QueryEscape(typed), "")
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/verify/"+nominative {
			t.Fatalf("%d → %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body = get(t, a.url, "/verify?code=AMN-0000", "")
		if resp.StatusCode != 400 || !strings.Contains(body, "pas un code") || !strings.Contains(body, `value="AMN-0000"`) {
			t.Fatalf("bad code: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Throttle", func(t *testing.T) {
		// ErrUnknown looked 2 unknown codes up from this address; 3 more lock it.
		for range 3 {
			if code, _, body := verified(t, a.url, attest.NewCode()); code != 404 {
				t.Fatalf("%d %s", code, body)
			}
		}
		resp, body := get(t, a.url, "/api/v1/verify/"+nominative, "")
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "too_many_requests") {
			t.Fatalf("a locked address: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		resp, body = get(t, a.url, "/verify/"+nominative, "")
		if resp.StatusCode != 429 || !strings.Contains(body, "réessayez") || strings.Contains(body, "Attestation valide") {
			t.Fatalf("page: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("LogsHoldNoPersonalData", func(t *testing.T) {
		log := a.log.String()
		if !strings.Contains(log, `"route":"GET /api/v1/verify/{code}"`) {
			t.Fatalf("requests are not logged by route: %s", log)
		}
		holdsPersonal(t, "the log", log)
		if strings.Contains(log, nominative) {
			t.Errorf("the log holds a code")
		}
	})
}

// TestAttestationsOff: without an Attester, every attestation route answers 404.
func TestAttestationsOff(t *testing.T) {
	r := amanetest.Open(t)
	a := newAPI(t, r)
	code, m, _ := a.do(t, "POST", "/api/v1/employers/1234567/attestations", map[string]any{"type": attest.KindThirdParty}, a.token)
	if code != 404 || m["error"] == nil {
		t.Fatalf("issue: %d %v", code, m)
	}
	if resp, body := get(t, a.url, "/api/v1/verify/"+attest.NewCode(), ""); resp.StatusCode != 404 {
		t.Fatalf("verify: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, a.url, "/verify/"+attest.NewCode(), ""); resp.StatusCode != 404 || !strings.Contains(body, "pas disponibles") {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
}

// newAttestationPages is newPages with an Attester, an insured account, and declarations.
func newAttestationPages(t *testing.T, r *amanetest.Registry) *pages {
	p := &pages{t: t, r: r, now: time.Now(), secrets: map[string]string{}, ids: map[string]int64{}}
	ids := seed(t, r)
	declareForAttestations(t, r)
	p.srv = web.NewServer(r.Gate, r.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.srv.SecretKey = make([]byte, web.SecretKeySize)
	rand.Read(p.srv.SecretKey)
	p.srv.Now = func() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }
	p.srv.Attester = newAttester(t, r)
	hs := httptest.NewServer(p.srv)
	t.Cleanup(hs.Close)
	p.url = hs.URL
	p.account(amane.Account{Login: "paie-souss", Role: amane.RoleEmployer, Affiliation: "1234567"}, true)
	p.account(amane.Account{Login: "assure-0001", Role: amane.RoleInsured, EmployeeID: ids["111111111"]}, true)
	p.account(amane.Account{Login: "agent-0412", Role: amane.RoleAgent, Agency: "AGADIR"}, false)
	return p
}

// download posts a form and checks that it answers a signed attestation; it returns the code.
func (v *visitor) download(t *testing.T, path string, form url.Values, aff string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", v.p.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "__Host-amane-session", Value: v.cookie})
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return checkPDF(t, resp, b, 200, aff)
}

var hiddenMotifRE = regexp.MustCompile(`<input type="hidden" name="motif" value="dossier">`)

func TestAttestationPages(t *testing.T) { amanetest.Each(t, testAttestationPages) }

func testAttestationPages(t *testing.T, r *amanetest.Registry) {
	p := newAttestationPages(t, r)
	anon := &visitor{p: p}
	page := func(t *testing.T, body string) {
		t.Helper()
		if inlineRE.MatchString(body) {
			t.Errorf("the page has inline script or style")
		}
	}
	t.Run("Employer", func(t *testing.T) {
		v := &visitor{p: p}
		if resp, _ := v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		resp, body := v.do("GET", "/mon-entreprise/declarations", nil, nil)
		for _, want := range []string{`id="attestations"`, `id="form-attestation-salaries"`, `id="form-attestation-tiers"`,
			`name="type" value="salaries-declares"`, `name="type" value="affiliation-declaration"`, `action="/mon-entreprise/attestations"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the declarations page lacks %s", want)
			}
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
		page(t, body)
		code := v.download(t, "/mon-entreprise/attestations", url.Values{"csrf": {v.csrf}, "type": {attest.KindEmployees}}, "1234567")
		resp, body = anon.do("GET", "/verify/"+code, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "Attestation valide") || !strings.Contains(body, "Attestation des salariés déclarés") {
			t.Fatalf("verify: %d %s", resp.StatusCode, body)
		}
		page(t, body)
		holdsPersonal(t, "the verification page", body)
		code = v.download(t, "/mon-entreprise/attestations", url.Values{"csrf": {v.csrf}, "type": {attest.KindThirdParty}, "du": {"2024-10"}, "au": {"202410"}}, "1234567")
		if _, body := anon.do("GET", "/verify/"+code, nil, nil); !strings.Contains(body, "Attestation d&#39;affiliation et de déclaration") || strings.Contains(body, "septembre") {
			t.Fatalf("third party: %s", body)
		}
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"ErrPeriod", url.Values{"type": {attest.KindThirdParty}, "du": {"2024"}}, 400, "AAAAMM"},
			{"ErrNoDeclaration", url.Values{"type": {attest.KindThirdParty}, "du": {"202001"}, "au": {"202002"}}, 404, "Aucune déclaration"},
			{"ErrType", url.Values{"type": {attest.KindSalary}}, 400, "Choisissez"},
		} {
			tc.form.Set("csrf", v.csrf)
			resp, body := v.do("POST", "/mon-entreprise/attestations", tc.form, nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) || !strings.Contains(body, `id="form-attestation-tiers"`) {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
			}
		}
		if resp, _ := v.do("POST", "/mon-entreprise/attestations", url.Values{"type": {attest.KindThirdParty}}, nil); resp.StatusCode != 403 {
			t.Fatalf("no CSRF token: %d", resp.StatusCode)
		}
		if resp, _ := v.do("POST", "/mes-donnees/attestations", url.Values{"csrf": {v.csrf}}, nil); resp.StatusCode != 403 {
			t.Fatalf("an employer's salary attestation: %d", resp.StatusCode)
		}
	})
	t.Run("Insured", func(t *testing.T) {
		v := &visitor{p: p}
		if resp, _ := v.signIn("assure-0001", testPassword, p.code("assure-0001", p.now)); resp.StatusCode != 303 {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		resp, body := v.do("GET", "/mes-donnees", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="form-attestation-salaire"`) || !strings.Contains(body, "Télécharger mon attestation de salaire") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		page(t, body)
		code := v.download(t, "/mes-donnees/attestations", url.Values{"csrf": {v.csrf}}, "1234567")
		resp, body = anon.do("GET", "/verify/"+code, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "Attestation de salaire") {
			t.Fatalf("verify: %d %s", resp.StatusCode, body)
		}
		holdsPersonal(t, "the salary verification page", body)
		resp, body = v.do("POST", "/mes-donnees/attestations", url.Values{"csrf": {v.csrf}, "du": {"202001"}, "au": {"202001"}}, nil)
		if resp.StatusCode != 404 || !strings.Contains(body, "Aucun mois") || !strings.Contains(body, `id="form-attestation-salaire"`) {
			t.Fatalf("no month: %d %s", resp.StatusCode, body)
		}
		if resp, _ := v.do("POST", "/mon-entreprise/attestations", url.Values{"csrf": {v.csrf}, "type": {attest.KindThirdParty}}, nil); resp.StatusCode != 403 {
			t.Fatalf("an insured person's employer attestation: %d", resp.StatusCode)
		}
	})
	t.Run("Agent", func(t *testing.T) {
		v := &visitor{p: p, cookie: p.srv.SessionForTest(p.ids["agent-0412"])}
		v.do("GET", "/recherche", nil, nil) // the CSRF token
		purpose := url.Values{"csrf": {v.csrf}, "motif": {"dossier"}, "reference": {"DOS-2025/0142"}}
		resp, body := v.do("POST", "/employeurs/1234567", purpose, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="form-attestation-tiers"`) || !strings.Contains(body, `action="/employeurs/1234567/attestations"`) ||
			!hiddenMotifRE.MatchString(body) || strings.Contains(body, "salaries-declares") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		page(t, body)
		code := v.download(t, "/employeurs/1234567/attestations", purpose, "1234567")
		if _, body := anon.do("GET", "/verify/"+code, nil, nil); !strings.Contains(body, "Attestation valide") {
			t.Fatalf("verify: %s", body)
		}
		// Without a purpose, the gate refuses; the page asks for one.
		resp, body = v.do("POST", "/employeurs/1234567/attestations", url.Values{"csrf": {v.csrf}}, nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "motif est requis") {
			t.Fatalf("no purpose: %d %s", resp.StatusCode, body)
		}
		// Another agency's employer: refused, as an unknown affiliation would be.
		form := url.Values{"csrf": {v.csrf}, "motif": {"dossier"}, "reference": {"DOS-2025/0142"}}
		if resp, body := v.do("POST", "/employeurs/7654321/attestations", form, nil); resp.StatusCode != 404 {
			t.Fatalf("another agency: %d %s", resp.StatusCode, body)
		}
	})
}
