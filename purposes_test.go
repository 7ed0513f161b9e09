package amane_test

import (
	"encoding/json"
	"strings"
	"testing"

	"amane"
)

// FuzzCheckPurposes: a DIR/purposes.json, whatever it holds, is accepted only if every purpose has a
// code, a label, a format and a reference pattern that compiles anchored; CheckPurposes never panics.
func FuzzCheckPurposes(f *testing.F) {
	def, _ := json.Marshal(amane.DefaultPurposes)
	f.Add(def)
	f.Add([]byte(`[{"code":"x","label":"X"}]`))
	f.Add([]byte(`[{"code":"x","label":"X","reference":"X-(\\d{4}","format":"X-NNNN"}]`))
	f.Add([]byte(`[{"code":"x","label":"X","reference":"X-\\d{4}","format":"X-NNNN"},{"code":"x","label":"Y","reference":"Y","format":"Y"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var list []amane.PurposeChoice
		if json.Unmarshal(b, &list) != nil {
			return
		}
		if amane.CheckPurposes(list) != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range list {
			if c.Code == "" || len(c.Code) > amane.MaxPurposeCode || c.Label == "" || c.Reference == "" || c.Format == "" || seen[c.Code] {
				t.Fatalf("accepted %+v", c)
			}
			seen[c.Code] = true
			re, err := c.CompileReference()
			if err != nil || !strings.HasPrefix(re.String(), "^(?:") || !strings.HasSuffix(re.String(), ")$") {
				t.Fatalf("accepted pattern %q: %v", c.Reference, err)
			}
		}
	})
}
