package web_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"amane/amanetest"
)

// conform checks value against schema as far as the document's patterns and lengths go: $ref,
// allOf, anyOf/oneOf (one branch must hold), properties, items, pattern, maxLength. It returns the
// violations, each with its JSON path.
func conform(doc map[string]any, schema map[string]any, value any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		target, found := pointer(doc, ref)
		if !found {
			return []string{at + ": unresolved " + ref}
		}
		return conform(doc, obj(target), value, at)
	}
	var out []string
	for _, s := range asSlice(schema["allOf"]) {
		out = append(out, conform(doc, obj(s), value, at)...)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if branches := asSlice(schema[key]); len(branches) > 0 {
			var first []string
			ok := false
			for i, s := range branches {
				v := conform(doc, obj(s), value, at)
				if len(v) == 0 {
					ok = true
					break
				}
				if i == 0 {
					first = v
				}
			}
			if !ok {
				out = append(out, first...)
			}
		}
	}
	switch v := value.(type) {
	case map[string]any:
		props := obj(schema["properties"])
		for k, x := range v {
			if p := obj(props[k]); p != nil {
				out = append(out, conform(doc, p, x, at+"."+k)...)
			}
		}
	case []any:
		if items := obj(schema["items"]); items != nil {
			for i, x := range v {
				out = append(out, conform(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			out = append(out, fmt.Sprintf("%s: %q does not match %s", at, v, p))
		}
		if n, ok := schema["maxLength"].(float64); ok && utf8.RuneCountInString(v) > int(n) {
			out = append(out, fmt.Sprintf("%s: longer than %d", at, int(n)))
		}
	}
	return out
}

// TestOpenAPIPatternsHoldForResponses: real answers, masked and in clear, match the patterns the
// document gives for them (a masked CIN, RIB, passport or e-mail used not to).
func TestOpenAPIPatternsHoldForResponses(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		doc := servedOpenAPI(t)
		e := newEdge(t, r)
		ops := operations(doc)
		for _, c := range []struct{ op, path, body string }{
			{"GET /api/v1/employers/{affiliation}", "/api/v1/employers/1234567", ""},
			{"GET /api/v1/employers/{affiliation}", "/api/v1/employers/1234567?reveal=*", ""},
			{"GET /api/v1/employees/{immatriculation}", "/api/v1/employees/111111111", ""},
			{"GET /api/v1/employees/{immatriculation}", "/api/v1/employees/111111111?reveal=cin", ""},
			{"POST /api/v1/employees/search", "/api/v1/employees/search", `{"name":"Tazi"}`},
		} {
			method, _, _ := strings.Cut(c.op, " ")
			resp, b := e.raw(t, method, c.path, "application/json", strings.NewReader(c.body), e.token, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			schema := obj(obj(obj(obj(obj(ops[c.op]["responses"])["200"])["content"])["application/json"])["schema"])
			if schema == nil {
				t.Fatalf("%s: no 200 schema", c.op)
			}
			if !strings.Contains(c.path, "reveal") && !strings.Contains(string(b), "•") {
				t.Fatalf("%s: nothing masked: %s", c.path, b)
			}
			for _, bad := range conform(doc, schema, v, "$") {
				t.Errorf("%s: %s", c.path, bad)
			}
		}
	})
}
