package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/damancom"
)

// Declarations over the API and the pages, on both stores. The test registry (seed) has employer
// 1234567 with 111111111 (Benaïssa) and 222222222 (Tazi), and employer 7654321 with 333333333.

// declLine is one JSON declaration line.
func declLine(imm string, days int, salary, capped int64) map[string]any {
	return map[string]any{"immatriculation": imm, "jours": days, "salaire_reel": salary, "salaire_plafonne": capped}
}

// goodLines declare both people of 1234567: 8,000 MAD (above the 6,000 MAD ceiling) and 4,500 MAD.
// Capped base 10,500 MAD, real base 12,500 MAD. Employer: 1.05 % and 7.93 % of 10,500 = 110.25 +
// 832.65; 6.40 %, 4.11 %, 1.60 % of 12,500 = 800.00 + 513.75 + 200.00 → 2,456.65. Employees: 0.52 %
// and 3.96 % of 10,500 = 54.60 + 415.80; 2.26 % of 12,500 = 282.50 → 752.90. Total 3,209.55 MAD.
func goodLines() []any {
	return []any{declLine("111111111", 26, 800000, 600000), declLine("222222222", 26, 450000, 450000)}
}

const (
	goodPayroll = 1250000
	goodTotal   = 320955
)

// dsFile is the DS file payroll software would send for period: the préétabli Amane builds for the
// test registry's people of 1234567, filled with goodLines' salaries, written by damancom.
func dsFile(t *testing.T, r *amanetest.Registry, period string) []byte {
	t.Helper()
	d, err := r.Gate.Preetabli(amanetest.Context(amane.RoleSystem), "1234567", period)
	if err != nil {
		t.Fatal(err)
	}
	salaries := map[string]int64{"111111111": 800000, "222222222": 450000}
	if len(d.Lines) != 2 {
		t.Fatalf("préétabli with %d lines, want 2", len(d.Lines))
	}
	for i := range d.Lines {
		l := &d.Lines[i]
		l.Days, l.Salary, l.Capped = 26, salaries[l.Imm], min(salaries[l.Imm], 600000)
	}
	var b bytes.Buffer
	if err := damancom.WriteDeclaration(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// broken returns file with its line n (1-based) changed at column col (0-based) to c.
func broken(t *testing.T, file []byte, n, col int, c byte) []byte {
	t.Helper()
	lines := bytes.SplitAfter(bytes.Clone(file), []byte("\n"))
	if n > len(lines) || col >= len(lines[n-1]) {
		t.Fatalf("the file has no line %d column %d", n, col)
	}
	lines[n-1][col] = c
	return bytes.Join(lines, nil)
}

// multipartFile is a multipart/form-data body with the given fields and the file as "fichier".
func multipartFile(t *testing.T, fields map[string]string, name string, file []byte) (contentType string, body *bytes.Buffer) {
	t.Helper()
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("fichier", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return mw.FormDataContentType(), body
}

// raw sends a request with the test purpose and returns the response and its whole body.
func (a *apiFixture) raw(t *testing.T, method, path, contentType string, body io.Reader, token string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, a.url+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range purpose {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// upload posts a DS file to the API.
func (a *apiFixture) upload(t *testing.T, path, name string, file []byte) (int, map[string]any) {
	t.Helper()
	ct, body := multipartFile(t, nil, name, file)
	resp, b := a.raw(t, "POST", path, ct, body, a.token, nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, m
}

// problems returns a result's erreurs as "line:record.field" strings.
func problems(m map[string]any) []string {
	var out []string
	errs, _ := m["erreurs"].([]any)
	for _, e := range errs {
		e := e.(map[string]any)
		line, _ := e["line"].(float64)
		rec, _ := e["record"].(string)
		out = append(out, fmt.Sprintf("%d:%s.%s", int(line), rec, e["field"]))
	}
	return out
}

func num(m map[string]any, path ...string) float64 {
	var cur any = m
	for _, p := range path {
		cur = cur.(map[string]any)[p]
	}
	f, _ := cur.(float64)
	return f
}

func TestDeclarationsAPI(t *testing.T) { amanetest.Each(t, testDeclarationsAPI) }

func testDeclarationsAPI(t *testing.T, r *amanetest.Registry) {
	a := newAPI(t, r)
	seed(t, r)
	const base = "/api/v1/employers/1234567/declarations/"

	t.Run("OK", func(t *testing.T) {
		code, m, _ := a.do(t, "POST", base+"202410", map[string]any{"lignes": goodLines()}, a.token)
		if code != 201 || m["statut"] != "acceptee" || m["deja_recue"] != nil {
			t.Fatalf("%d %v, want 201 acceptee", code, m)
		}
		if got := num(m, "cotisations", "total"); got != goodTotal {
			t.Errorf("total %v, want %d", got, goodTotal)
		}
		if got := num(m, "declaration", "totaux", "masse_salariale"); got != goodPayroll {
			t.Errorf("payroll %v, want %d", got, goodPayroll)
		}
		if m["declaration"].(map[string]any)["periode"] != "202410" {
			t.Errorf("summary %v", m["declaration"])
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		// The path's affiliation and period replace the body's; what Amane computes is ignored.
		body := map[string]any{"affiliation": "7654321", "periode": "202001", "lignes": goodLines(), "totaux": map[string]any{"masse_salariale": 1}}
		code, m, _ := a.do(t, "POST", base+"202410", body, a.token)
		if code != 200 || m["deja_recue"] != true || num(m, "cotisations", "total") != goodTotal {
			t.Fatalf("%d %v, want 200 with the first result", code, m)
		}
	})
	t.Run("Get", func(t *testing.T) {
		code, m, _ := a.do(t, "GET", base+"202410", nil, a.token)
		ds, _ := m["declarations"].([]any)
		if code != 200 || len(ds) != 1 || len(ds[0].(map[string]any)["lignes"].([]any)) != 2 {
			t.Fatalf("%d %v", code, m)
		}
		code, m, _ = a.do(t, "GET", "/api/v1/employers/1234567/declarations", nil, a.token)
		if hs, _ := m["declarations"].([]any); code != 200 || len(hs) != 1 || num(hs[0].(map[string]any), "cotisations_dues") != goodTotal {
			t.Fatalf("history: %d %v", code, m)
		}
		code, m, _ = a.do(t, "GET", "/api/v1/employers/7654321/declarations", nil, a.token)
		if hs, ok := m["declarations"].([]any); code != 200 || !ok || len(hs) != 0 {
			t.Fatalf("empty history: %d %v, want an empty array", code, m)
		}
		if code, m, _ := a.do(t, "GET", base+"2024-10", nil, a.token); code != 400 {
			t.Fatalf("bad period: %d %v", code, m)
		}
	})
	t.Run("Preetabli", func(t *testing.T) {
		resp, b := a.raw(t, "GET", "/api/v1/employers/1234567/preetabli/202411", "", nil, a.token, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="AFFEBDS_1234567_202411.txt"`) ||
			!bytes.HasPrefix(b, []byte("A00")) {
			t.Fatalf("%d %v %.80s", resp.StatusCode, resp.Header, b)
		}
	})
	t.Run("ErrRejected", func(t *testing.T) {
		body := map[string]any{"lignes": []any{
			declLine("111111111", 26, 800000, 600000),
			declLine("333333333", 26, 450000, 450000), // employed by 7654321
			declLine("12345", 26, 450000, 450000),
		}}
		code, m, _ := a.do(t, "POST", base+"202409", body, a.token)
		got := problems(m)
		if code != 422 || m["statut"] != "rejetee" || !slices.Contains(got, "2:B02.N_Num_Assure") || !slices.Contains(got, "3:B02.N_Num_Assure") {
			t.Fatalf("%d %v, want 422 naming lines 2 and 3", code, m)
		}
		if code, m, _ := a.do(t, "GET", base+"202409", nil, a.token); code != 404 {
			t.Fatalf("a rejected declaration was stored: %d %v", code, m)
		}
		b, _ := json.Marshal(body)
		resp, text := a.raw(t, "POST", base+"202409", "application/json", bytes.NewReader(b), a.token, map[string]string{"Accept": "text/plain"})
		if resp.StatusCode != 422 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(string(text), "line 2: B02.N_Num_Assure: ") || strings.Count(string(text), "\n") != len(got) {
			t.Fatalf("text report: %d %s", resp.StatusCode, text)
		}
	})
	t.Run("ErrOtherEmployer", func(t *testing.T) {
		tok := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567", Label: "paie"})
		body := map[string]any{"lignes": []any{declLine("333333333", 26, 450000, 450000)}}
		// Another employer answers as an unknown affiliation (404): no existence oracle.
		if code, m, _ := a.doH(t, "POST", "/api/v1/employers/7654321/declarations/202410", body, tok, nil); code != 404 {
			t.Fatalf("%d %v, want 404", code, m)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/employers/7654321/declarations", nil, tok, nil); code != 404 {
			t.Fatalf("history: %d %v, want 404", code, m)
		}
		if code, m, _ := a.doH(t, "POST", base+"202408", map[string]any{"lignes": goodLines()}, tok, nil); code != 201 {
			t.Fatalf("own declaration: %d %v, want 201", code, m)
		}
	})
	t.Run("ErrStrictJSON", func(t *testing.T) {
		body := map[string]any{"lignes": goodLines(), "salaire": 1}
		if code, m, _ := a.do(t, "POST", base+"202407", body, a.token); code != 400 || !slices.Contains(fieldsOf(m), "salaire") {
			t.Fatalf("%d %v, want 400 naming salaire", code, m)
		}
	})
	t.Run("Upload", func(t *testing.T) {
		file := dsFile(t, r, "202406")
		code, m := a.upload(t, base+"202406", "DS_1234567_202406.txt", file)
		if code != 201 || m["statut"] != "acceptee" || num(m, "cotisations", "total") != goodTotal {
			t.Fatalf("%d %v, want 201", code, m)
		}
		if code, m := a.upload(t, base+"202406", `C:\paie\DS_1234567_202406.txt`, file); code != 200 || m["deja_recue"] != true {
			t.Fatalf("again: %d %v, want 200 deja_recue", code, m)
		}
	})
	t.Run("File", func(t *testing.T) {
		resp, b := a.raw(t, "GET", base+"202406/fichier", "", nil, a.token, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="DS_1234567_202406.txt"`) {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
		d, err := damancom.ReadDeclaration("DS_1234567_202406.txt", bytes.NewReader(b))
		if err != nil || len(d.Lines) != 2 || d.Affiliation != "1234567" || d.Period != "202406" {
			t.Fatalf("the file does not read back: %v %+v", err, d)
		}
		// A declaration sent as JSON, without the file's envelope, is written with what Amane knows.
		if resp, b := a.raw(t, "GET", base+"202410/fichier", "", nil, a.token, nil); resp.StatusCode != 200 {
			t.Fatalf("the JSON declaration as a file: %d %s", resp.StatusCode, b)
		}
		if resp, _ := a.raw(t, "GET", base+"202406/fichier?complementaire=1", "", nil, a.token, nil); resp.StatusCode != 404 {
			t.Fatalf("no complementary: %d", resp.StatusCode)
		}
	})
	t.Run("ErrUploadBroken", func(t *testing.T) {
		// Line 3 is the first B02; column 113 the first digit of N_Salaire_Reel.
		file := broken(t, dsFile(t, r, "202405"), 3, 113, 'X')
		code, m := a.upload(t, base+"202405", "DS_1234567_202405.txt", file)
		if code != 422 || m["statut"] != "rejetee" || !slices.Contains(problems(m), "3:B02.N_Salaire_Reel") {
			t.Fatalf("%d %v, want 422 naming line 3, N_Salaire_Reel", code, m)
		}
		if code, m, _ := a.do(t, "GET", base+"202405", nil, a.token); code != 404 {
			t.Fatalf("a broken file was stored: %d %v", code, m)
		}
	})
	t.Run("ErrUploadMismatch", func(t *testing.T) {
		code, m := a.upload(t, base+"202404", "DS_1234567_202403.txt", dsFile(t, r, "202403"))
		if code != 422 || !slices.Contains(problems(m), "0:B01.periode") {
			t.Fatalf("%d %v, want 422 naming periode", code, m)
		}
		resp, b := a.raw(t, "POST", base+"202404", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"), a.token, nil)
		if resp.StatusCode != 400 {
			t.Fatalf("no file: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("LogsHoldNoPersonalData", func(t *testing.T) {
		log := a.log.String()
		if !strings.Contains(log, `"route":"POST /api/v1/employers/{affiliation}/declarations/{period}"`) {
			t.Fatalf("requests are not logged by route: %s", log)
		}
		for _, v := range []string{"111111111", "222222222", "333333333", "BENAISSA", "Benaïssa", "Tazi", "TAZI", "N_Salaire_Reel", "N_Num_Assure"} {
			if strings.Contains(log, v) {
				t.Errorf("the log holds %q", v)
			}
		}
	})
}

// upload posts a file with the visitor's session and CSRF token.
func (v *visitor) upload(path, name string, file []byte) (*http.Response, string) {
	v.p.t.Helper()
	ct, body := multipartFile(v.p.t, map[string]string{"csrf": v.csrf}, name, file)
	req, _ := http.NewRequest("POST", v.p.url+path, body)
	req.Header.Set("Content-Type", ct)
	req.AddCookie(&http.Cookie{Name: "__Host-amane-session", Value: v.cookie})
	resp, err := noRedirect.Do(req)
	if err != nil {
		v.p.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		v.csrf = m[1]
	}
	return resp, string(b)
}

var inlineRE = regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)

// mad is how the pages write centimes: a narrow no-break space between thousands, a no-break space
// before the currency.
func mad(s string) string {
	return strings.ReplaceAll(strings.Replace(s, " MAD", "\u00a0MAD", 1), " ", "\u202f")
}

func TestDeclarationPages(t *testing.T) { amanetest.Each(t, testDeclarationPages) }

func testDeclarationPages(t *testing.T, r *amanetest.Registry) {
	p := newPages(t, r)
	v := &visitor{p: p}
	if resp, _ := v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	page := func(t *testing.T, body string) {
		t.Helper()
		if inlineRE.MatchString(body) {
			t.Errorf("the page has inline script or style")
		}
	}
	t.Run("EmptyList", func(t *testing.T) {
		resp, body := v.do("GET", "/mon-entreprise/declarations", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="aucune-declaration"`) || !strings.Contains(body, `enctype="multipart/form-data"`) ||
			!strings.Contains(body, `href="/mon-entreprise/declarations">Déclarations</a>`) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		page(t, body)
	})
	t.Run("UploadAccepted", func(t *testing.T) {
		resp, body := v.upload("/mon-entreprise/declarations", "DS_1234567_202410.txt", dsFile(t, r, "202410"))
		if resp.StatusCode != 200 || !strings.Contains(body, `id="acceptee"`) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		for _, want := range []string{mad("12 500,00 MAD"), mad("3 209,55 MAD"), mad("10 500,00 MAD"), mad("832,65 MAD"), "Pensions (long terme)", "octobre 2024", "Part patronale", "Assiette"} {
			if !strings.Contains(body, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
		page(t, body)
	})
	t.Run("UploadRejected", func(t *testing.T) {
		file := broken(t, dsFile(t, r, "202409"), 3, 113, 'X')
		resp, body := v.upload("/mon-entreprise/declarations", "DS_1234567_202409.txt", file)
		if resp.StatusCode != 422 || !strings.Contains(body, `id="problemes"`) || !strings.Contains(body, "<code>N_Salaire_Reel</code>") ||
			!strings.Contains(body, `<td class="nombre">3</td>`) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		page(t, body)
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		if resp, body := v.upload("/mon-entreprise/declarations", "", nil); resp.StatusCode != 400 || !strings.Contains(body, `id="erreur"`) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		form := url.Values{"csrf": {v.csrf}}
		if resp, _ := v.do("POST", "/mon-entreprise/declarations", form, nil); resp.StatusCode != 400 {
			t.Fatalf("no file: %d", resp.StatusCode)
		}
	})
	t.Run("List", func(t *testing.T) {
		resp, body := v.do("GET", "/mon-entreprise/declarations", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="declarations"`) || !strings.Contains(body, "octobre 2024") ||
			!strings.Contains(body, mad("12 500,00 MAD")) || !strings.Contains(body, `id="total-du">`+mad("3 209,55 MAD")) ||
			strings.Contains(body, "septembre 2024") {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		page(t, body)
	})
	t.Run("Downloads", func(t *testing.T) {
		resp, body := v.do("GET", "/mon-entreprise/preetabli?periode=202411", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "AFFEBDS_1234567_202411.txt") || !strings.HasPrefix(body, "A00") {
			t.Fatalf("préétabli: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, body := v.do("GET", "/mon-entreprise/preetabli?periode=2024", nil, nil); resp.StatusCode != 400 || !strings.Contains(body, "AAAAMM") {
			t.Fatalf("bad period: %d", resp.StatusCode)
		}
		resp, body = v.do("GET", "/mon-entreprise/declarations/202410/fichier", nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "DS_1234567_202410.txt") || !strings.HasPrefix(body, "B00") {
			t.Fatalf("DS file: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("AgentHistory", func(t *testing.T) {
		av := &visitor{p: p, cookie: p.srv.SessionForTest(p.ids["agent-0412"])}
		if resp, body := av.do("GET", "/employeurs/1234567", nil, nil); resp.StatusCode != 400 || strings.Contains(body, "Historique des déclarations") {
			t.Fatalf("without a purpose: %d", resp.StatusCode)
		}
		form := url.Values{"csrf": {av.csrf}, "motif": {"dossier"}, "reference": {"DOS-2025/0142"}}
		resp, body := av.do("POST", "/employeurs/1234567", form, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "Historique des déclarations") || !strings.Contains(body, `id="historique"`) ||
			!strings.Contains(body, "octobre 2024") || !strings.Contains(body, mad("12 500,00 MAD")) ||
			!regexp.MustCompile(`<svg class="barre"[^>]*><rect [^>]*width="240"`).MatchString(body) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		page(t, body)
		// The employer's own page shows no history section, only the link to its declarations.
		if _, body := v.do("GET", "/mon-entreprise", nil, nil); strings.Contains(body, `id="historique"`) || !strings.Contains(body, `id="lien-declarations"`) {
			t.Fatalf("/mon-entreprise:\n%s", body)
		}
	})
}
