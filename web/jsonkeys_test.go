package web

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct {
		in, key string
		dup     bool
	}{
		{`{"a":1,"b":2}`, "", false},
		{`{"a":1,"a":2}`, "a", true},
		{`{"nom":"a","NOM":"b"}`, "NOM", true},
		{`{"k":1,"\u212a":2}`, "\u212a", true}, // Kelvin sign folds like k, as encoding/json matches it
		{`{"s":1,"ſ":2}`, "ſ", true},
		{`{"a":{"b":1},"c":{"b":2}}`, "", false}, // same key in two objects
		{`{"a":[{"x":1,"X":2}]}`, "X", true},
		{`[{"a":1},{"a":1}]`, "", false},
		{`{"a":{"b":{"c":1}},"A":0}`, "A", true},
		{`{"a":"b","b":"a"}`, "", false}, // values are not keys
		{`{"a":1,`, "", false},           // invalid: the decoder reports it
	} {
		k, dup := duplicateKey([]byte(c.in))
		if k != c.key || dup != c.dup {
			t.Errorf("%s: %q %v, want %q %v", c.in, k, dup, c.key, c.dup)
		}
	}
}

// FuzzDuplicateKey: never panics; on a valid object it reports no duplicate, the keys encoding/json
// decodes into a map number as many as the distinct folded keys it saw.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":{"b":[1,{"c":2,"C":3}]}}`, `[1,2,{"x":null}]`, `{"\u212a":1}`, `"s"`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, dup := duplicateKey(b)
		if !dup && k != "" {
			t.Fatalf("a key without a duplicate: %q", k)
		}
		var m map[string]json.RawMessage
		if dup || json.Unmarshal(b, &m) != nil {
			return
		}
		folded := map[string]bool{}
		for key := range m {
			if folded[foldKey(key)] {
				t.Fatalf("two keys fold alike in %q, none reported", b)
			}
			folded[foldKey(key)] = true
		}
		if strings.Count(string(b), ":") < len(m) {
			t.Fatalf("more keys than colons in %q", b)
		}
	})
}
