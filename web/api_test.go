package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/ids"
	"amane/postgres/pgtest"
	"amane/web"
)

type apiFixture struct {
	url   string
	token string
	log   *amanetest.SyncBuffer
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newAPI(t *testing.T, r *amanetest.Registry) *apiFixture {
	t.Helper()
	token := web.NewToken()
	if err := r.Store.AddOperatorToken(context.Background(), web.TokenHash(token), "test"); err != nil {
		t.Fatal(err)
	}
	log := &amanetest.SyncBuffer{}
	srv := httptest.NewServer(web.NewServer(r.Gate, r.Store, slog.New(slog.NewJSONHandler(log, nil))))
	t.Cleanup(srv.Close)
	return &apiFixture{url: srv.URL, token: token, log: log}
}

// purpose is what the operator (staff) states with every request in these tests.
var purpose = map[string]string{"X-Amane-Purpose": "dossier", "X-Amane-Reference": "DOS-2025/0142"}

// do sends a request stating the test purpose and decodes the JSON answer into a generic map.
func (a *apiFixture) do(t *testing.T, method, path string, body any, token string) (int, map[string]any, http.Header) {
	t.Helper()
	return a.doH(t, method, path, body, token, purpose)
}

// doH is do with the given extra headers only.
func (a *apiFixture) doH(t *testing.T, method, path string, body any, token string, headers map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header
}

func employer(aff string) map[string]any {
	rib := "0221100000000123456789" // bank 022, locality 110, account
	rib += ids.Key97(rib)
	return map[string]any{
		"affiliation": aff, "raison_sociale": "SOUSS AGRO SARL", "activite": "Industrie agroalimentaire", "adresse": "Lot 9, Zone industrielle",
		"ville": "Agadir", "date_adhesion": "2015-01-05", "date_affiliation": "2015-02-01", "ice": "001561191000066", "rc": "5678", "tp": "23456789",
		"if": "34567890", "forme_juridique": "SARL AU", "agence": "AGADIR", "etat_compte": "actif", "mode_telepaiement": "virement",
		"code_banque": "022", "date_creation_compte": "2014-11-20",
		"representant": map[string]any{"nom": "Ouazzani", "prenom": "Réda", "cin": "JA998877"},
		"email":        "r.ouazzani@souss.example", "telephone": "+212 661 234 567", "rib": rib,
	}
}

func employee(imm, cin, nom, prenom, aff string) map[string]any {
	return map[string]any{"immatriculation": imm, "cin": cin, "nom": nom, "prenom": prenom, "date_affiliation": "2021-06-01",
		"emplois": []any{map[string]any{"affiliation": aff, "depuis": "2021-06-01", "etat": "validee"}}}
}

func fieldsOf(m map[string]any) []string {
	var out []string
	e, _ := m["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		out = append(out, f.(map[string]any)["field"].(string))
	}
	return out
}

func TestAPI(t *testing.T) { amanetest.Each(t, testAPI) }

func testAPI(t *testing.T, r *amanetest.Registry) {
	a := newAPI(t, r)
	if code, m, h := a.do(t, "GET", "/healthz", nil, ""); code != 200 || m["status"] != "ok" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("healthz: %d %v %v", code, m, h)
	}
	t.Run("ErrNoToken", func(t *testing.T) {
		if code, m, _ := a.do(t, "GET", "/api/v1/employers/1234567", nil, ""); code != 401 || m["error"].(map[string]any)["code"] != "unauthorized" {
			t.Fatalf("%d %v", code, m)
		}
		if code, _, _ := a.do(t, "GET", "/api/v1/employers/1234567", nil, "amane_op_wrong"); code != 401 {
			t.Fatalf("wrong token: %d", code)
		}
	})
	if code, m, _ := a.do(t, "POST", "/api/v1/employers", employer("1234567"), a.token); code != 201 {
		t.Fatalf("create employer: %d %v", code, m)
	}
	for _, e := range []map[string]any{
		employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"),
		employee("222222222", "JB654321", "Tazi", "Said", "1234567"),
	} {
		if code, m, _ := a.do(t, "POST", "/api/v1/employees", e, a.token); code != 201 {
			t.Fatalf("create employee: %d %v", code, m)
		}
	}
	t.Run("GetEmployer", func(t *testing.T) {
		code, m, _ := a.do(t, "GET", "/api/v1/employers/1234567", nil, a.token)
		if code != 200 || m["telephone"] != "+212•••••••67" || len(m["salaries"].([]any)) != 2 || m["representant"].(map[string]any)["prenom"] != "Réda" {
			t.Fatalf("%d %v", code, m)
		}
		code, m, _ = a.do(t, "GET", "/api/v1/employers/1234567?reveal=telephone,rib", nil, a.token)
		if code != 200 || m["telephone"] != "+212661234567" || m["representant"].(map[string]any)["cin"] != "JA••••77" {
			t.Fatalf("reveal: %d %v", code, m)
		}
	})
	t.Run("GetEmployee", func(t *testing.T) {
		code, m, _ := a.do(t, "GET", "/api/v1/employees/111111111", nil, a.token)
		if code != 200 || m["nom"] != "Benaïssa" || m["cin"] != "JA••••56" {
			t.Fatalf("%d %v", code, m)
		}
		if code, _, _ := a.do(t, "GET", "/api/v1/employees/333333333", nil, a.token); code != 404 {
			t.Fatalf("unknown: %d", code)
		}
	})
	for _, tc := range []struct {
		name, path string
		body       any
		want       int
	}{
		{"ByCIN", "/api/v1/employees?cin=ja123456", nil, 1},
		{"ByNameNoAccent", "/api/v1/employees?name=benaissa", nil, 1},
		{"ByNameAccent", "/api/v1/employees?name=sa%C3%AFd", nil, 2},
		{"SearchBodyCIN", "/api/v1/employees/search", map[string]any{"cin": "JB654321"}, 1},
		{"SearchBodyImm", "/api/v1/employees/search", map[string]any{"immatriculation": "222222222"}, 1},
		{"SearchBodyName", "/api/v1/employees/search", map[string]any{"name": "SAID"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if tc.body != nil {
				method = "POST"
			}
			code, m, _ := a.do(t, method, tc.path, tc.body, a.token)
			if code != 200 || len(m["salaries"].([]any)) != tc.want {
				t.Fatalf("%d %v, want %d found", code, m, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		field  string
	}{
		{"ErrRIBKey", func(m map[string]any) { r := m["rib"].(string); m["rib"] = r[:22] + "00" }, "rib"},
		{"ErrICE", func(m map[string]any) { m["ice"] = "001561191000067" }, "ice"},
		{"ErrAffiliation", func(m map[string]any) { m["affiliation"] = "76543210" }, "affiliation"},
		{"ErrUnknownField", func(m map[string]any) { m["salaire"] = 1 }, "salaire"},
		{"ErrType", func(m map[string]any) { m["rc"] = 12 }, "rc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := employer("7654321")
			tc.mutate(e)
			code, m, _ := a.do(t, "POST", "/api/v1/employers", e, a.token)
			if code != 400 || strings.Join(fieldsOf(m), ",") != tc.field {
				t.Fatalf("%d %v, want 400 naming %s", code, m, tc.field)
			}
			if code, _, _ := a.do(t, "GET", "/api/v1/employers/7654321", nil, a.token); code != 404 {
				t.Fatalf("a refused employer was written: %d", code)
			}
		})
	}
	t.Run("UpdateEmployee", func(t *testing.T) {
		e := employee("222222222", "JB654321", "Tazi El Fassi", "Said", "1234567")
		if code, m, _ := a.do(t, "PUT", "/api/v1/employees/222222222", e, a.token); code != 200 {
			t.Fatalf("%d %v", code, m)
		}
		code, m, _ := a.do(t, "GET", "/api/v1/employees?name=fassi", nil, a.token)
		if code != 200 || len(m["salaries"].([]any)) != 1 {
			t.Fatalf("%d %v", code, m)
		}
	})
	t.Run("LogsHoldNoPersonalData", func(t *testing.T) {
		log := a.log.String()
		if !strings.Contains(log, `"route":"GET /api/v1/employees/{immatriculation}"`) {
			t.Fatalf("requests are not logged by route: %s", log)
		}
		for _, v := range []string{"111111111", "222222222", "JA123456", "ja123456", "Benaïssa", "benaissa", "Tazi", "Ouazzani", "JB654321", "souss.example"} {
			if strings.Contains(log, v) {
				t.Errorf("the log holds %q", v)
			}
		}
	})
}

// addToken stores a scoped token and returns it.
func addToken(t *testing.T, r *amanetest.Registry, tok amane.Token) string {
	t.Helper()
	s := web.NewAccessToken()
	tok.Hash = web.TokenHash(s)
	if tok.Created == "" {
		tok.Created = time.Now().UTC().Format(time.RFC3339)
	}
	if tok.Expires == "" {
		tok.Expires = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	}
	if _, err := r.Store.AddToken(context.Background(), &tok); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAPIAccess(t *testing.T) { amanetest.Each(t, testAPIAccess) }

// testAPIAccess: scoped tokens, purposes, masking and the journal routes.
func testAPIAccess(t *testing.T, r *amanetest.Registry) {
	a := newAPI(t, r)
	for _, aff := range []string{"1234567", "7654321"} {
		e := employer(aff)
		if aff == "7654321" {
			e["agence"] = "CASA-ANFA"
		}
		if code, m, _ := a.do(t, "POST", "/api/v1/employers", e, a.token); code != 201 {
			t.Fatalf("create employer: %d %v", code, m)
		}
	}
	ids := map[string]int64{}
	for _, e := range []map[string]any{
		employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"),
		employee("333333333", "JC111222", "Alaoui", "Nadia", "7654321"),
	} {
		code, m, _ := a.do(t, "POST", "/api/v1/employees", e, a.token)
		if code != 201 {
			t.Fatalf("create employee: %d %v", code, m)
		}
		ids[e["immatriculation"].(string)] = int64(m["id"].(float64))
	}

	t.Run("ErrStaffWithoutPurpose", func(t *testing.T) {
		code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, nil)
		if code != 400 || !slices.Contains(fieldsOf(m), "purpose") {
			t.Fatalf("%d %v, want 400 naming purpose", code, m)
		}
		code, m, _ = a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, map[string]string{"X-Amane-Purpose": "curiosite", "X-Amane-Reference": "DOS-2026/0001"})
		if code != 400 || !slices.Contains(fieldsOf(m), "purpose") {
			t.Fatalf("unknown purpose: %d %v", code, m)
		}
		code, m, _ = a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, map[string]string{"X-Amane-Purpose": "dossier", "X-Amane-Reference": "JA123456"})
		if code != 400 || !slices.Contains(fieldsOf(m), "reference") {
			t.Fatalf("personal reference: %d %v", code, m)
		}
	})
	t.Run("MaskedUnlessRevealed", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			headers    map[string]string
			cin        string
		}{
			{"Default", "/api/v1/employees/111111111", purpose, "JA••••56"},
			{"Query", "/api/v1/employees/111111111?reveal=cin", purpose, "JA123456"},
			{"Header", "/api/v1/employees/111111111", map[string]string{"X-Amane-Purpose": "dossier", "X-Amane-Reference": "DOS-2025/0142", "X-Amane-Reveal": "*"}, "JA123456"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, m, _ := a.doH(t, "GET", tc.path, nil, a.token, tc.headers)
				if code != 200 || m["cin"] != tc.cin {
					t.Fatalf("%d %v, want cin %q", code, m, tc.cin)
				}
			})
		}
		if code, m, _ := a.do(t, "GET", "/api/v1/employees/111111111?reveal=salaire", nil, a.token); code != 400 || !slices.Contains(fieldsOf(m), "reveal") {
			t.Fatalf("unknown reveal: %d %v", code, m)
		}
	})

	employerTok := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567", Label: "paie"})
	t.Run("EmployerToken", func(t *testing.T) {
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, employerTok, nil); code != 200 || m["cin"] != "JA••••56" {
			t.Fatalf("own employee: %d %v", code, m)
		}
		// Another employer's employee, or another employer, answer exactly as an unknown number: no
		// existence oracle (issue 12).
		for _, pair := range [][2]string{{"/api/v1/employees/333333333", "/api/v1/employees/444444449"}, {"/api/v1/employers/7654321", "/api/v1/employers/7777777"}} {
			code, m, _ := a.doH(t, "GET", pair[0], nil, employerTok, nil)
			ucode, um, _ := a.doH(t, "GET", pair[1], nil, employerTok, nil)
			if code != 404 || ucode != 404 || !reflect.DeepEqual(m, um) {
				t.Fatalf("out of scope %s: %d %v; unknown %s: %d %v; want the same 404", pair[0], code, m, pair[1], ucode, um)
			}
		}
	})
	t.Run("ErrExpiredOrRevokedToken", func(t *testing.T) {
		expired := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567", Expires: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, expired, nil); code != 401 {
			t.Fatalf("expired: %d %v", code, m)
		}
		revoked := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567"})
		toks, _ := r.Store.Tokens(context.Background())
		if err := r.Store.RevokeToken(context.Background(), toks[len(toks)-1].ID); err != nil {
			t.Fatal(err)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, revoked, nil); code != 401 {
			t.Fatalf("revoked: %d %v", code, m)
		}
	})

	insuredTok := addToken(t, r, amane.Token{Role: amane.RoleInsured, EmployeeID: ids["111111111"]})
	var index int64 = -1
	t.Run("MyAccessLog", func(t *testing.T) {
		code, m, _ := a.doH(t, "GET", "/api/v1/me/access-log", nil, insuredTok, nil)
		entries, _ := m["entries"].([]any)
		if code != 200 || len(entries) == 0 {
			t.Fatalf("%d %v", code, m)
		}
		purposes := map[string]bool{}
		for _, e := range entries {
			e := e.(map[string]any)
			if e["record"] != "employee/"+strconv.FormatInt(ids["111111111"], 10) {
				t.Errorf("an entry about another record: %v", e)
			}
			if p, _ := e["purpose"].(string); p != "" {
				purposes[p] = true
			}
			if e["role"] == "operator" && e["outcome"] == "allowed" && index < 0 {
				index = int64(e["index"].(float64))
			}
		}
		if !purposes["dossier"] || index < 0 {
			t.Fatalf("the operator's reads under its purpose are not in the log: %v", entries)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/me/access-log", nil, employerTok, nil); code != 403 {
			t.Fatalf("employer: %d %v", code, m)
		}
	})
	t.Run("AccessProof", func(t *testing.T) {
		code, m, _ := a.doH(t, "GET", "/api/v1/journal/proof/"+strconv.FormatInt(index, 10), nil, insuredTok, nil)
		if code != 200 || len(m) == 0 {
			t.Fatalf("%d %v", code, m)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/journal/proof/abc", nil, insuredTok, nil); code != 400 {
			t.Fatalf("bad index: %d %v", code, m)
		}
	})
	t.Run("Journal", func(t *testing.T) {
		auditor := addToken(t, r, amane.Token{Role: amane.RoleAuditor})
		code, m, _ := a.do(t, "GET", "/api/v1/journal?limit=3", nil, auditor)
		entries, _ := m["entries"].([]any)
		if code != 200 || len(entries) != 3 {
			t.Fatalf("%d %v", code, m)
		}
		first, last := entries[0].(map[string]any)["index"].(float64), entries[2].(map[string]any)["index"].(float64)
		if first <= last {
			t.Fatalf("not newest first: %v", entries)
		}
		code, m, _ = a.do(t, "GET", "/api/v1/journal?before="+strconv.FormatInt(int64(last), 10)+"&limit=2", nil, auditor)
		if entries, _ := m["entries"].([]any); code != 200 || len(entries) != 2 || entries[0].(map[string]any)["index"].(float64) != last-1 {
			t.Fatalf("before: %d %v", code, m)
		}
		if code, m, _ := a.do(t, "GET", "/api/v1/journal?limit=0", nil, auditor); code != 400 {
			t.Fatalf("limit 0: %d %v", code, m)
		}
		if code, m, _ := a.do(t, "GET", "/api/v1/journal", nil, a.token); code != 403 {
			t.Fatalf("operator: %d %v", code, m)
		}
	})
	t.Run("JournalHoldsRequestID", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.url+"/api/v1/employees/111111111", nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		for k, v := range purpose {
			req.Header.Set(k, v)
		}
		rid := "0123456789abcdef0123456789abcdef"
		req.Header.Set("X-Request-Id", rid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, m, _ := a.doH(t, "GET", "/api/v1/me/access-log", nil, insuredTok, nil)
		found := false
		for _, e := range m["entries"].([]any) {
			if e.(map[string]any)["request_id"] == rid {
				found = true
			}
		}
		if !found {
			t.Fatalf("no journal entry carries the request id: %v", m)
		}
	})
}
