package attest

import "testing"

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		if seen[c] {
			t.Fatalf("code drawn twice: %s", c)
		}
		seen[c] = true
		got, err := ParseCode(c)
		if err != nil || got != c {
			t.Fatalf("ParseCode(%s) = %s, %v", c, got, err)
		}
		typed := "amn " + c[4:9] + " " + c[10:]
		if got, err := ParseCode(typed); err != nil || got != c {
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
				if _, err := ParseCode(string(m)); err == nil {
					t.Fatalf("%s with position %d changed to %c passes", c, i, x)
				}
			}
			if i+1 < len(raw) && raw[i] != raw[i+1] {
				m := append([]byte(nil), raw...)
				m[i], m[i+1] = m[i+1], m[i]
				if _, err := ParseCode(string(m)); err == nil {
					t.Fatalf("%s with positions %d and %d swapped passes", c, i, i+1)
				}
			}
		}
	}
	for _, bad := range []string{"", "AMN-", "AMN-12345-1234", "AMN-12345-12345U"} {
		if _, err := ParseCode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
