package gate

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"amane"
)

// FuzzCheckPurpose: whatever code and reference a principal states, checkPurpose never panics, and
// what it leaves for the journal is only a configured code and, if any, a reference that passed the
// purpose's pattern (at most amane.MaxReference, not a person's identifier); a refusal's reason is
// one of a fixed set of rules, never the text typed.
func FuzzCheckPurpose(f *testing.F) {
	for _, s := range [][2]string{{"dossier", "DOS-2026/0142"}, {"dossier", "cin-K450111"}, {"dossier", "TAZI-NADIA"},
		{"prestation", "PRE-2025/0001"}, {"curiosite", "X-1"}, {"", ""}, {"dossier", "DOS-2026/0142\n"}, {strings.Repeat("d", 40), "DOS-2026/0142"},
		{"droits-0908", "DRT-2026/0001"}, {"dossier", "007810007800020110620303"}, {"dossier", "k.berrada@atlas.example"}} {
		f.Add(s[0], s[1], false)
	}
	g := &Gate{purposes: amane.DefaultPurposes}
	patterns := map[string]*regexp.Regexp{}
	reasons := []string{"no purpose stated", "unknown purpose", "reference is a person's identifier"}
	for _, c := range amane.DefaultPurposes {
		re, err := c.CompileReference()
		if err != nil {
			f.Fatal(err)
		}
		patterns[c.Code] = re
		reasons = append(reasons, "reference does not match "+c.Format)
	}
	f.Fuzz(func(t *testing.T, code, ref string, employer bool) {
		p := &amane.Principal{ID: "account/1", Role: amane.RoleAgent, Agency: "CASA-ANFA"}
		if employer {
			p = &amane.Principal{ID: "token/1", Role: amane.RoleEmployer, Affiliation: "1234567"}
		}
		d := &decision{g: g, p: p, action: actRead, purpose: amane.Purpose{Code: code, Reference: ref}}
		reason, err := d.checkPurpose()
		if (err == nil) != (reason == "") {
			t.Fatalf("reason %q with error %v", reason, err)
		}
		if reason != "" && !slices.Contains(reasons, reason) {
			t.Fatalf("reason %q is not one of the rules", reason)
		}
		if d.purpose.Code != "" && patterns[d.purpose.Code] == nil {
			t.Fatalf("journaled code %q is not configured", d.purpose.Code)
		}
		if r := d.purpose.Reference; r != "" {
			if err != nil || len(r) > amane.MaxReference || !patterns[d.purpose.Code].MatchString(r) || looksPersonal(r) {
				t.Fatalf("journaled reference %q (code %q, error %v)", r, d.purpose.Code, err)
			}
		}
		if err == nil && code != "" && (d.purpose.Code != code || d.purpose.Reference != ref) {
			t.Fatalf("an accepted purpose %q %q journaled as %+v", code, ref, d.purpose)
		}
	})
}
