package gate

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCheckBreakGlass: whatever reason a principal gives, checkBreakGlass never panics, refuses by one
// of a fixed set of rules (never the text), and accepts only valid UTF-8 of 10 to 200 printable
// characters none of whose words is a CIN, an immatriculation or a phone number, and no reason that is
// a number of 6 digits or more.
func FuzzCheckBreakGlass(f *testing.F) {
	for _, s := range []string{"appel urgent de l'agence, dossier papier", "urgent", "voir JA123456 svp merci",
		"immatriculation 123456789 à revoir", "tel +212 661 234 567 rappel", "ligne\ncachée pour rien", strings.Repeat("é", 201),
		"\xff\xfe invalide mais long", "voir (JA123456). svp"} {
		f.Add(s)
	}
	rules := []string{"must be 10 to 200 characters", "must be printable text on one line", "must not hold a CIN, immatriculation or phone number",
		"must not hold a number of 6 digits or more"}
	f.Fuzz(func(t *testing.T, reason string) {
		why := checkBreakGlass(reason)
		if why != "" {
			if !slices.Contains(rules, why) {
				t.Fatalf("rule %q is not one of the rules", why)
			}
			return
		}
		n := utf8.RuneCountInString(reason)
		if !utf8.ValidString(reason) || n < MinBreakGlassReason || n > MaxBreakGlassReason {
			t.Fatalf("accepted a reason of %d characters (valid UTF-8: %v)", n, utf8.ValidString(reason))
		}
		for _, w := range strings.Fields(reason) {
			if looksPersonal(w) {
				t.Fatalf("accepted a reason holding an identifier: %q", reason)
			}
		}
		digits := 0
		for _, r := range reason {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits >= 6 && strings.Trim(reason, "0123456789 .-+()") == "" {
			t.Fatalf("accepted a reason that is a number: %q", reason)
		}
		if strings.IndexFunc(reason, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("accepted a reason with a control character: %q", reason)
		}
	})
}
