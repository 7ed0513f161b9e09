package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"amane"
	"amane/attest"
	"amane/web"
)

// openapiMethods are the keys of an OpenAPI path item that name operations; the others ("parameters",
// "summary", ...) do not.
var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// servedOpenAPI fetches the document the server embeds, the way a client does. That route needs
// neither a registry nor a store.
func servedOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	srv := web.NewServer(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: status %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	body := rec.Body.Bytes()
	if !json.Valid(body) {
		t.Fatal("the OpenAPI document is not valid JSON")
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not a JSON object: %v", err)
	}
	return doc
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// operations returns the documented operations as "METHOD /path" mapped to the operation object.
func operations(doc map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range obj(doc["paths"]) {
		for method, op := range obj(item) {
			if slices.Contains(openapiMethods, method) {
				ops[strings.ToUpper(method)+" "+path] = obj(op)
			}
		}
	}
	return ops
}

// pointer resolves a local JSON pointer ("#/components/schemas/Employer") in doc.
func pointer(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// refs returns every $ref in v with the JSON path where it occurs.
func refs(v any, at string, out map[string]string) {
	switch c := v.(type) {
	case map[string]any:
		for k, x := range c {
			if s, ok := x.(string); ok && k == "$ref" {
				out[at+"/$ref"] = s
				continue
			}
			refs(x, at+"/"+k, out)
		}
	case []any:
		for i, x := range c {
			refs(x, at+"/"+strconv.Itoa(i), out)
		}
	}
}

// jsonFields returns the names encoding/json gives the fields of struct type t: the tag's name, else
// the Go name; fields of untagged embedded structs are promoted; "-" and unexported fields are skipped.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, jsonFields(ft)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// schemaProperties returns the property names of a schema, following $ref and allOf.
func schemaProperties(t *testing.T, doc, schema map[string]any) []string {
	t.Helper()
	if ref, ok := schema["$ref"].(string); ok {
		target, ok := pointer(doc, ref)
		if !ok {
			t.Fatalf("$ref %s does not resolve", ref)
		}
		return schemaProperties(t, doc, obj(target))
	}
	var out []string
	for name := range obj(schema["properties"]) {
		out = append(out, name)
	}
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			out = append(out, schemaProperties(t, doc, obj(s))...)
		}
	}
	return out
}

func sortedSet(names []string) []string {
	out := slices.Clone(names)
	sort.Strings(out)
	return slices.Compact(out)
}

func TestOpenAPIDocument(t *testing.T) {
	doc := servedOpenAPI(t)
	tests := []struct {
		name string
		path string
		want any
	}{
		{"openapi version", "#/openapi", "3.1.0"},
		{"title", "#/info/title", "Amane registry API"},
		{"version", "#/info/version", "1"},
		{"server", "#/servers/0/url", "/"},
		{"bearer scheme type", "#/components/securitySchemes/bearerAuth/type", "http"},
		{"bearer scheme", "#/components/securitySchemes/bearerAuth/scheme", "bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pointer(doc, tt.path)
			if !ok {
				t.Fatalf("%s is missing", tt.path)
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// TestOpenAPIRoutes checks that the document describes exactly what the server serves.
func TestOpenAPIRoutes(t *testing.T) {
	doc := servedOpenAPI(t)
	ops := operations(doc)
	for _, route := range web.Routes {
		t.Run(route, func(t *testing.T) {
			method, path, ok := strings.Cut(route, " ")
			if !ok {
				t.Fatalf("route %q is not METHOD /path", route)
			}
			op := obj(obj(obj(doc["paths"])[path])[strings.ToLower(method)])
			if op == nil {
				t.Fatalf("%s is served but not documented at paths[%q][%q]", route, path, strings.ToLower(method))
			}
			if id, _ := op["operationId"].(string); id == "" {
				t.Errorf("%s has no operationId", route)
			}
			if len(obj(op["responses"])) == 0 {
				t.Errorf("%s documents no response", route)
			}
		})
	}
	t.Run("no undocumented extra", func(t *testing.T) {
		for op := range ops {
			if !slices.Contains(web.Routes, op) {
				t.Errorf("%s is documented but not served (not in web.Routes)", op)
			}
		}
	})
	t.Run("operationIds unique", func(t *testing.T) {
		seen := map[string]string{}
		for route, op := range ops {
			id, _ := op["operationId"].(string)
			if prev, dup := seen[id]; dup && id != "" {
				t.Errorf("operationId %q is used by %s and %s", id, prev, route)
			}
			seen[id] = route
		}
	})
}

// TestOpenAPISecurity checks that every /api/v1 operation but the document itself needs the bearer
// token, and that the public ones say they need none.
func TestOpenAPISecurity(t *testing.T) {
	doc := servedOpenAPI(t)
	ops := operations(doc)
	public := []string{"GET /healthz", "GET /api/v1/openapi.json", "GET /api/v1/verify/{code}"}
	for _, route := range web.Routes {
		t.Run(route, func(t *testing.T) {
			op := ops[route]
			if op == nil {
				t.Skip("not documented; TestOpenAPIRoutes reports it")
			}
			sec, ok := op["security"].([]any)
			if !ok {
				sec, _ = doc["security"].([]any)
			}
			bearer := false
			for _, req := range sec {
				if _, ok := obj(req)["bearerAuth"]; ok {
					bearer = true
				}
			}
			wantBearer := !slices.Contains(public, route)
			if bearer != wantBearer {
				t.Errorf("bearer security = %v, want %v", bearer, wantBearer)
			}
			if !wantBearer && len(sec) != 0 {
				t.Errorf("a public operation must declare security: [], has %v", sec)
			}
			if wantBearer {
				if _, ok := obj(op["responses"])["401"]; !ok {
					t.Error("an authenticated operation must document 401")
				}
			}
		})
	}
}

// TestOpenAPIRefs checks that every $ref points into components and resolves.
func TestOpenAPIRefs(t *testing.T) {
	doc := servedOpenAPI(t)
	all := map[string]string{}
	refs(doc, "#", all)
	if len(all) == 0 {
		t.Fatal("the document has no $ref at all")
	}
	where := map[string][]string{} // ref → the places it occurs
	for at, ref := range all {
		where[ref] = append(where[ref], at)
	}
	targets := make([]string, 0, len(where))
	for ref := range where {
		targets = append(targets, ref)
	}
	sort.Strings(targets)
	for _, ref := range targets {
		t.Run(ref, func(t *testing.T) {
			at := slices.Sorted(slices.Values(where[ref]))
			if !strings.HasPrefix(ref, "#/components/") {
				t.Fatalf("$ref %q (at %s) does not point into #/components/", ref, strings.Join(at, ", "))
			}
			if target, ok := pointer(doc, ref); !ok || obj(target) == nil {
				t.Errorf("$ref %q (at %s) does not resolve to a components entry", ref, strings.Join(at, ", "))
			}
		})
	}
}

// TestOpenAPIErrorResponses checks that every error response is the one Error schema, but a rejected
// declaration (422), which is an answer: the DeclarationResult with every problem.
func TestOpenAPIErrorResponses(t *testing.T) {
	doc := servedOpenAPI(t)
	for route, op := range operations(doc) {
		for status, resp := range obj(op["responses"]) {
			if status[0] != '4' && status[0] != '5' {
				continue
			}
			t.Run(route+" "+status, func(t *testing.T) {
				r := obj(resp)
				if ref, ok := r["$ref"].(string); ok {
					target, _ := pointer(doc, ref)
					r = obj(target)
				}
				want := "#/components/schemas/Error"
				if status == "422" {
					want = "#/components/schemas/DeclarationResult"
				}
				got, _ := pointer(map[string]any{"r": r}, "#/r/content/application~1json/schema/$ref")
				if got != want {
					t.Errorf("schema %v, want $ref %s", got, want)
				}
			})
		}
	}
}

// TestOpenAPIPathParameters checks the shape documented for each path parameter.
func TestOpenAPIPathParameters(t *testing.T) {
	doc := servedOpenAPI(t)
	tests := []struct {
		path, param, pattern string
	}{
		{"/api/v1/employers/{affiliation}", "affiliation", "^[0-9]{7}$"},
		{"/api/v1/employees/{immatriculation}", "immatriculation", "^[0-9]{9}$"},
		{"/api/v1/employers/{affiliation}/declarations/{period}", "period", "^[0-9]{4}(0[1-9]|1[0-2])$"},
		{"/api/v1/employers/{affiliation}/preetabli/{period}", "affiliation", "^[0-9]{7}$"},
		{"/api/v1/employers/{affiliation}/attestations", "affiliation", "^[0-9]{7}$"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			item := obj(obj(doc["paths"])[tt.path])
			if item == nil {
				t.Fatalf("path %s is not documented", tt.path)
			}
			var found map[string]any
			for _, p := range append(slices.Clone(asSlice(item["parameters"])), paramsOfOps(item)...) {
				p := obj(p)
				if ref, ok := p["$ref"].(string); ok {
					target, _ := pointer(doc, ref)
					p = obj(target)
				}
				if p["name"] == tt.param && p["in"] == "path" {
					found = p
				}
			}
			if found == nil {
				t.Fatalf("path parameter %s is not declared", tt.param)
			}
			if found["required"] != true {
				t.Error("a path parameter must be required")
			}
			if got := obj(found["schema"])["pattern"]; got != tt.pattern {
				t.Errorf("pattern %v, want %s", got, tt.pattern)
			}
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func paramsOfOps(item map[string]any) []any {
	var out []any
	for _, m := range openapiMethods {
		out = append(out, asSlice(obj(item[m])["parameters"])...)
	}
	return out
}

// TestOpenAPISchemaFields checks that each documented schema has exactly the JSON fields of its Go
// type, so that a field added to the domain without documenting it fails here.
func TestOpenAPISchemaFields(t *testing.T) {
	doc := servedOpenAPI(t)
	tests := []struct {
		schema string
		typ    reflect.Type
	}{
		{"Employer", reflect.TypeFor[amane.Employer]()},
		{"Employee", reflect.TypeFor[amane.Employee]()},
		{"Employment", reflect.TypeFor[amane.Employment]()},
		{"Representative", reflect.TypeFor[amane.Representative]()},
		{"EmployerWithEmployees", reflect.TypeFor[amane.EmployerWithEmployees]()},
		{"EmployeeList", reflect.TypeFor[amane.EmployeePage]()},
		{"DeclarationList", reflect.TypeFor[amane.DeclarationPage]()},
		{"FieldError", reflect.TypeFor[amane.FieldError]()},
		{"AccessEntry", reflect.TypeFor[amane.AccessEntry]()},
		{"Declaration", reflect.TypeFor[amane.Declaration]()},
		{"DeclarationHeader", reflect.TypeFor[amane.DeclarationHeader]()},
		{"DeclarationLine", reflect.TypeFor[amane.DeclarationLine]()},
		{"NewEmployeeLine", reflect.TypeFor[amane.NewEmployeeLine]()},
		{"DeclarationTotals", reflect.TypeFor[amane.DeclarationTotals]()},
		{"Contributions", reflect.TypeFor[amane.Contributions]()},
		{"BranchDue", reflect.TypeFor[amane.BranchDue]()},
		{"DeclarationSummary", reflect.TypeFor[amane.DeclarationSummary]()},
		{"DeclarationResult", reflect.TypeFor[amane.DeclarationResult]()},
		{"AttestationRequest", reflect.TypeFor[web.AttestationRequest]()},
		{"AttestationMonth", reflect.TypeFor[attest.Month]()},
		{"AttestationSummary", reflect.TypeFor[attest.Summary]()},
		{"Verification", reflect.TypeFor[web.Verification]()},
		{"Case", reflect.TypeFor[amane.Case]()},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			s := obj(obj(obj(doc["components"])["schemas"])[tt.schema])
			if s == nil {
				t.Fatalf("components/schemas/%s is missing", tt.schema)
			}
			got := sortedSet(schemaProperties(t, doc, s))
			want := sortedSet(jsonFields(tt.typ))
			for _, f := range want {
				if !slices.Contains(got, f) {
					t.Errorf("field %q of %s is not in schema %s", f, tt.typ, tt.schema)
				}
			}
			for _, f := range got {
				if !slices.Contains(want, f) {
					t.Errorf("schema %s has property %q that %s does not have", tt.schema, f, tt.typ)
				}
			}
		})
	}
}

// TestJSONFields pins the reflection helper the schema test relies on.
func TestJSONFields(t *testing.T) {
	type inner struct {
		A string `json:"a"`
	}
	type outer struct {
		ID int `json:"id"`
		inner
		Skip  string `json:"-"`
		B     string `json:"b,omitempty"`
		Plain string
		low   string // unexported: skipped
	}
	got := jsonFields(reflect.TypeFor[outer]())
	want := []string{"id", "a", "b", "Plain"}
	if !slices.Equal(got, want) {
		t.Errorf("jsonFields = %v, want %v", got, want)
	}
}
