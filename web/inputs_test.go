package web_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"amane/amanetest"
)

// TestDuplicateKeysRefused is the attack on the decoder: two keys differing only by case (or equal)
// in one object, so that a proxy or a log sees one value and Amane stores the other. Every body the
// API decodes refuses them with a 400 naming the key.
func TestDuplicateKeysRefused(t *testing.T) {
	r := amanetest.Open(t)
	e := newEdge(t, r)
	for _, c := range []struct{ path, body, key string }{
		{"/api/v1/employees/search", `{"name":"Tazi","NAME":"Benaïssa"}`, "NAME"},
		{"/api/v1/employees/search", `{"cin":"JA123456","cin":"JB654321"}`, "cin"},
		{"/api/v1/employees/search", `{"name":"Tazi","nam\u212a":"x"}`, ""}, // not a duplicate: an unknown field
		{"/api/v1/employers", `{"affiliation":"1234568","raison_sociale":"A","representant":{"nom":"a","NOM":"b"}}`, "NOM"},
		{"/api/v1/employers/1234567/attestations", `{"type":"salaries-declares","Type":"affiliation-declaration"}`, "Type"},
	} {
		resp, b := e.raw(t, "POST", c.path, "application/json", strings.NewReader(c.body), e.token, nil)
		var m struct {
			Error struct {
				Message string
				Fields  []struct{ Field string }
			}
		}
		json.Unmarshal(b, &m)
		if resp.StatusCode != 400 {
			t.Errorf("%s %s: %d %s", c.path, c.body, resp.StatusCode, b)
			continue
		}
		if c.key != "" && (len(m.Error.Fields) != 1 || m.Error.Fields[0].Field != c.key || !strings.Contains(m.Error.Message, "appears twice")) {
			t.Errorf("%s %s: %s", c.path, c.body, b)
		}
	}
	// Honest bodies still pass.
	if resp, b := e.raw(t, "POST", "/api/v1/employees/search", "application/json", strings.NewReader(`{"name":"Tazi","limit":5}`), e.token, nil); resp.StatusCode != 200 {
		t.Errorf("honest search: %d %s", resp.StatusCode, b)
	}
}

// TestBodyTooLarge: a body over its route's bound is refused as it arrives, 413 with the API's error
// shape (the 1 MiB of an ordinary route, the 64 MiB of a declaration).
func TestBodyTooLarge(t *testing.T) {
	r := amanetest.Open(t)
	e := newEdge(t, r)
	for _, c := range []struct {
		path string
		size int
	}{
		{"/api/v1/employees/search", 1<<20 + 1},
		{"/api/v1/employers/1234567/declarations/202409", 65 << 20},
	} {
		body := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), c.size)...)
		resp, b := e.raw(t, "POST", c.path, "application/json", bytes.NewReader(body), e.token, nil)
		if resp.StatusCode != 413 || !strings.Contains(string(b), `"too_large"`) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s, %d bytes: %d %s", c.path, c.size, resp.StatusCode, b)
		}
	}
}
