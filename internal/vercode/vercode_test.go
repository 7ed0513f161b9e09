package vercode

import "testing"

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := New()
		if seen[c] {
			t.Fatalf("code drawn twice: %s", c)
		}
		seen[c] = true
		got, err := Parse(c)
		if err != nil || got != c {
			t.Fatalf("Parse(%s) = %s, %v", c, got, err)
		}
		typed := "amn " + c[4:9] + " " + c[10:]
		if got, err := Parse(typed); err != nil || got != c {
			t.Fatalf("typed %q: %s, %v", typed, got, err)
		}
		// Every single-character change and every swap of neighbours is caught.
		raw := []byte(c[4:9] + c[10:])
		for i := range raw {
			for _, x := range []byte(codeAlphabet) {
				if x == raw[i] {
					continue
				}
				m := append([]byte(nil), raw...)
				m[i] = x
				if _, err := Parse(string(m)); err == nil {
					t.Fatalf("%s with position %d changed to %c passes", c, i, x)
				}
			}
			if i+1 < len(raw) && raw[i] != raw[i+1] {
				m := append([]byte(nil), raw...)
				m[i], m[i+1] = m[i+1], m[i]
				if _, err := Parse(string(m)); err == nil {
					t.Fatalf("%s with positions %d and %d swapped passes", c, i, i+1)
				}
			}
		}
	}
	for _, bad := range []string{"", "AMN-", "AMN-12345-1234", "AMN-12345-12345U"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts is a code in its one normal form, which parses to
// itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{New(), "amn 1234", "AMN-00000-00000", "AMN-12345-1234", "aMn-ilo0o-‐‑–—", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if c != "" || err != ErrCode {
				t.Fatalf("Parse(%q) = %q, %v", s, c, err)
			}
			return
		}
		if len(c) != 15 || c[:4] != "AMN-" || c[9] != '-' {
			t.Fatalf("Parse(%q) = %q: not in normal form", s, c)
		}
		if again, err := Parse(c); err != nil || again != c {
			t.Fatalf("Parse(%q) = %q, %v", c, again, err)
		}
	})
}
