package amane

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"CIN", MaskCIN("AB123467"), "AB••••67"},
		{"CINShort", MaskCIN("A12"), "••2"},
		{"Imm", MaskImmatriculation("123456789"), "••••••789"},
		{"RIB", MaskRIB("007810007800020110620312"), "••••••••••••••••••••0312"},
		{"Phone", MaskPhone("+212661234567"), "+212•••••••67"},
		{"Email", MaskEmail("m.alaoui@atlas.example"), "m•••@…"},
		{"EmailAccent", MaskEmail("élise@x.ma"), "é•••@…"},
		{"EmailBad", MaskEmail("@x"), "•••"},
		{"Name", MaskName("El Idrissi"), "E• I•"},
		{"NameAccent", MaskName("Aïcha Chérif"), "A• C•"},
		{"Empty", MaskCIN(""), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// FuzzMask: masking never panics, never returns the value itself (unless empty), and hides at least
// half of an identifier's characters.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"AB123467", "123456789", "+212661234567", "a@b", "", "é", "Ω1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) || strings.Contains(v, dot) {
			return
		}
		for _, m := range []func(string) string{MaskCIN, MaskImmatriculation, MaskRIB} {
			got := m(v)
			n := utf8.RuneCountInString(v)
			if n > 0 && got == v {
				t.Fatalf("%q masked to itself", v)
			}
			if hidden := strings.Count(got, dot); hidden < (n+1)/2 {
				t.Fatalf("%q → %q hides %d of %d characters", v, got, hidden, n)
			}
		}
		MaskEmail(v)
		MaskName(v)
		MaskPhone(v)
	})
}
