package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
)

// TestAPIPaging: GET /api/v1/employers/{aff} answers one page of employees with next, ?cursor= reads
// the following page, ?limit= sizes it (1 to 50), and a cursor that is not one answers 400 with the
// field "cursor". Both stores.
func TestAPIPaging(t *testing.T) { amanetest.Each(t, testAPIPaging) }

func testAPIPaging(t *testing.T, r *amanetest.Registry) {
	a := newAPI(t, r)
	if code, m, _ := a.do(t, "POST", "/api/v1/employers", employer("1234567"), a.token); code != 201 {
		t.Fatalf("create employer: %d %v", code, m)
	}
	for _, e := range []map[string]any{
		employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"),
		employee("222222222", "JB654321", "Tazi", "Said", "1234567"),
		employee("333333333", "JC111222", "Alaoui", "Amina", "1234567"),
	} {
		if code, m, _ := a.do(t, "POST", "/api/v1/employees", e, a.token); code != 201 {
			t.Fatalf("create employee: %d %v", code, m)
		}
	}
	seen := map[string]bool{}
	code, m, _ := a.do(t, "GET", "/api/v1/employers/1234567?limit=2", nil, a.token)
	if code != 200 || len(m["salaries"].([]any)) != 2 || m["next"] == nil {
		t.Fatalf("first page: %d %v", code, m)
	}
	for _, s := range m["salaries"].([]any) {
		seen[s.(map[string]any)["immatriculation"].(string)] = true
	}
	code, m, _ = a.do(t, "GET", "/api/v1/employers/1234567?limit=2&cursor="+m["next"].(string), nil, a.token)
	if code != 200 || len(m["salaries"].([]any)) != 1 || m["next"] != nil {
		t.Fatalf("second page: %d %v", code, m)
	}
	for _, s := range m["salaries"].([]any) {
		seen[s.(map[string]any)["immatriculation"].(string)] = true
	}
	if len(seen) != 3 {
		t.Errorf("the pages held %d distinct people, want 3", len(seen))
	}
	if code, m, _ := a.do(t, "GET", "/api/v1/employers/1234567", nil, a.token); code != 200 || len(m["salaries"].([]any)) != 3 || m["next"] != nil {
		t.Errorf("the default page: %d %v", code, m)
	}
	for _, q := range []string{"?cursor=111111111", "?cursor=%21%21", "?limit=51", "?limit=0"} {
		code, m, _ := a.do(t, "GET", "/api/v1/employers/1234567"+q, nil, a.token)
		if code != 400 || len(fieldsOf(m)) != 1 {
			t.Errorf("%s: %d %v, want 400 naming one field", q, code, m)
		}
	}
	// Name search: limit capped at 50, more when more match.
	code, m, _ = a.do(t, "POST", "/api/v1/employees/search", map[string]any{"name": "said", "limit": 1}, a.token)
	if code != 200 || len(m["salaries"].([]any)) != 1 || m["more"] != true {
		t.Errorf("a name search of limit 1 with two matches: %d %v", code, m)
	}
}

// TestPagesNextPage: the employer page shows one page of employees and a link to the next, which
// shows the rest; an agent's (POST, purpose in the form) carries the cursor in the form. Both stores.
func TestPagesNextPage(t *testing.T) { amanetest.Each(t, testPagesNextPage) }

func testPagesNextPage(t *testing.T, r *amanetest.Registry) {
	p := newPages(t, r)
	sys := amanetest.Context(amane.RoleSystem)
	for i := range amane.MaxPage { // 2 seeded + 50: two pages
		e := &amane.Employee{Immatriculation: fmt.Sprintf("5%08d", i+1), CIN: fmt.Sprintf("KZ%05d", i), Surname: "Lahlou", FirstName: "Omar",
			AffiliationDate: "2021-06-01", Employments: []amane.Employment{{Affiliation: "1234567", Since: "2021-06-01", State: amane.EmploymentValidated}}}
		if err := r.Gate.CreateEmployee(sys, e); err != nil {
			t.Fatal(err)
		}
	}
	v := &visitor{p: p}
	if resp, _ := v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	resp, body := v.do("GET", "/mon-entreprise", nil, nil)
	link := regexp.MustCompile(`href="\?suite=([A-Za-z0-9_-]+)" id="page-suivante"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || strings.Count(body, "<tr>")-1 != amane.MaxPage || link == nil {
		t.Fatalf("the first page: %d, %d rows, link %v", resp.StatusCode, strings.Count(body, "<tr>")-1, link)
	}
	resp, body = v.do("GET", "/mon-entreprise?suite="+link[1], nil, nil)
	if resp.StatusCode != 200 || strings.Count(body, "<tr>")-1 != 2 || strings.Contains(body, "page-suivante") {
		t.Fatalf("the second page: %d, %d rows", resp.StatusCode, strings.Count(body, "<tr>")-1)
	}
}
