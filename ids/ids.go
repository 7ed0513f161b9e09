// Package ids parses, validates and normalizes the Moroccan identifiers the registry holds, as
// ../shared/reference/identifiers-and-law.md describes them:
//
//	affiliation      7 digits (no published check)
//	immatriculation  9 digits; 999999999 is reserved for occasional workers in declarations
//	CIN              1–2 letters then digits, 8 characters at most, upper case
//	passport         5–20 letters or digits (shape only)
//	ICE              15 digits, the whole number divisible by 97
//	RIB              24 digits = bank 3 + locality 3 + account 16 + key 2, the whole number divisible by 97
//	IF, RC, TP       digits (shape only)
//	phone            Moroccan number: 0 or +212, then 5, 6 or 7, then 8 digits; normalized to +212XXXXXXXXX
//	e-mail           local@domain, normalized to lower case
//
// A bad key is rejected, never "fixed". Errors name the field, the position of the offending character
// (1-based) and the rule — never the value, which is often personal data.
package ids

import (
	"fmt"
	"strings"
)

// Error reports why a value is not a valid identifier. It never carries the value itself.
type Error struct {
	Field string // column or field name, e.g. "cin" or "representant_cin"
	Pos   int    // 1-based position of the first offending character; 0 when the rule is about the whole value
	Rule  string // the rule broken, in words a user can act on
}

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("%s: character %d: %s", e.Field, e.Pos, e.Rule)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Rule)
}

// OccasionalWorker is the immatriculation number reserved for occasional workers in declarations; it is
// not a person and the registry never stores it as one.
const OccasionalWorker = "999999999"

func digits(field, s string, min, max int) (string, error) {
	if s == "" {
		return "", &Error{Field: field, Rule: "is required"}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", &Error{Field: field, Pos: i + 1, Rule: "must be a digit"}
		}
	}
	if len(s) < min || len(s) > max {
		if min == max {
			return "", &Error{Field: field, Rule: fmt.Sprintf("must be exactly %d digits, has %d", min, len(s))}
		}
		return "", &Error{Field: field, Rule: fmt.Sprintf("must be %d to %d digits, has %d", min, max, len(s))}
	}
	return s, nil
}

// ParseAffiliation validates an employer's affiliation number: exactly 7 digits.
func ParseAffiliation(s string) (string, error) { return digits("affiliation", s, 7, 7) }

// ParseImmatriculation validates an insured person's number: exactly 9 digits, not the reserved
// occasional-worker number.
func ParseImmatriculation(s string) (string, error) {
	v, err := digits("immatriculation", s, 9, 9)
	if err != nil {
		return "", err
	}
	if v == OccasionalWorker {
		return "", &Error{Field: "immatriculation", Rule: "999999999 is reserved for occasional workers"}
	}
	if v == "000000000" {
		return "", &Error{Field: "immatriculation", Rule: "must not be all zeros"}
	}
	return v, nil
}

// ParseCIN validates a national identity card number: 1 or 2 letters followed by at least one digit,
// 8 characters at most. Lower-case letters are accepted and normalized to upper case.
func ParseCIN(s string) (string, error) {
	const field = "cin"
	if s == "" {
		return "", &Error{Field: field, Rule: "is required"}
	}
	if len(s) > 8 {
		return "", &Error{Field: field, Rule: fmt.Sprintf("must be 8 characters at most, has %d", len(s))}
	}
	b := []byte(s)
	letters := 0
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
			fallthrough
		case c >= 'A' && c <= 'Z':
			if i != letters {
				return "", &Error{Field: field, Pos: i + 1, Rule: "letters must come before the digits"}
			}
			letters++
			if letters > 2 {
				return "", &Error{Field: field, Pos: i + 1, Rule: "must start with 1 or 2 letters, then digits"}
			}
		case c >= '0' && c <= '9':
			if letters == 0 {
				return "", &Error{Field: field, Pos: i + 1, Rule: "must start with 1 or 2 letters"}
			}
		default:
			return "", &Error{Field: field, Pos: i + 1, Rule: "must be a letter or a digit"}
		}
	}
	if letters == len(b) {
		return "", &Error{Field: field, Rule: "must end with digits"}
	}
	return string(b), nil
}

// ParsePassport validates a passport number: 5 to 20 letters or digits, normalized to upper case.
func ParsePassport(s string) (string, error) {
	const field = "passeport"
	if s == "" {
		return "", &Error{Field: field, Rule: "is required"}
	}
	if len(s) < 5 || len(s) > 20 {
		return "", &Error{Field: field, Rule: fmt.Sprintf("must be 5 to 20 characters, has %d", len(s))}
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return "", &Error{Field: field, Pos: i + 1, Rule: "must be a letter or a digit"}
		}
	}
	return string(b), nil
}

// Mod97 returns the decimal number written in s modulo 97, computed digit by digit so that no length
// overflows. s must hold only ASCII digits.
func Mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		r = (r*10 + int(s[i]-'0')) % 97
	}
	return r
}

// Key97 returns the two check digits that make prefix+key divisible by 97: 97 − (prefix × 100 mod 97),
// the RIB rule, which the ICE shares. The result is in 01..97.
func Key97(prefix string) string {
	return fmt.Sprintf("%02d", 97-Mod97(prefix+"00"))
}

// ParseICE validates an Identifiant Commun de l'Entreprise: 15 digits, divisible by 97.
func ParseICE(s string) (string, error) {
	v, err := digits("ice", s, 15, 15)
	if err != nil {
		return "", err
	}
	if Mod97(v) != 0 {
		return "", &Error{Field: "ice", Pos: 14, Rule: "control digits (positions 14–15) do not match: the number must be divisible by 97"}
	}
	return v, nil
}

// ParseRIB validates a relevé d'identité bancaire: 24 digits whose key makes the number divisible by 97.
func ParseRIB(s string) (string, error) {
	v, err := digits("rib", s, 24, 24)
	if err != nil {
		return "", err
	}
	if Mod97(v) != 0 {
		return "", &Error{Field: "rib", Pos: 23, Rule: "key (positions 23–24) does not match: the number must be divisible by 97"}
	}
	return v, nil
}

// RIBBank returns the 3-digit bank code of a valid RIB.
func RIBBank(rib string) string { return rib[:3] }

// IBAN returns the Moroccan IBAN of a valid RIB. Because a valid RIB is divisible by 97, the ISO 13616
// check digits are always 64.
func IBAN(rib string) string { return "MA64" + rib }

// ParseIF, ParseRC and ParseTP validate the fiscal identifier, the trade register number and the
// professional tax number: digits only, no published check.
func ParseIF(s string) (string, error) { return digits("if", s, 1, 15) }
func ParseRC(s string) (string, error) { return digits("rc", s, 1, 15) }
func ParseTP(s string) (string, error) { return digits("tp", s, 1, 15) }

// ParseBankCode validates a 3-digit bank code.
func ParseBankCode(s string) (string, error) { return digits("code_banque", s, 3, 3) }

// ParsePhone validates a Moroccan phone number written 0XXXXXXXXX, +212XXXXXXXXX or 00212XXXXXXXXX
// (spaces, dots and dashes between digits are ignored) and returns it as +212XXXXXXXXX.
func ParsePhone(s string) (string, error) {
	const field = "telephone"
	if s == "" {
		return "", &Error{Field: field, Rule: "is required"}
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' && i == 0:
		case c == ' ' || c == '.' || c == '-':
		default:
			return "", &Error{Field: field, Pos: i + 1, Rule: "must be digits, optionally starting with +"}
		}
	}
	d := b.String()
	var national string
	switch {
	case s[0] == '+' && strings.HasPrefix(d, "212"):
		national = d[3:]
	case s[0] != '+' && strings.HasPrefix(d, "00212"):
		national = d[5:]
	case s[0] != '+' && strings.HasPrefix(d, "0"):
		national = d[1:]
	default:
		return "", &Error{Field: field, Pos: 1, Rule: "must start with 0, +212 or 00212"}
	}
	if len(national) != 9 {
		return "", &Error{Field: field, Rule: fmt.Sprintf("must have 9 digits after the prefix, has %d", len(national))}
	}
	if national[0] < '5' || national[0] > '7' {
		return "", &Error{Field: field, Rule: "the number after the prefix must start with 5, 6 or 7"}
	}
	return "+212" + national, nil
}

// ParseEmail validates an e-mail address of the shape local@domain.tld (ASCII, no spaces, no quoting,
// 254 characters at most) and returns it in lower case.
func ParseEmail(s string) (string, error) {
	const field = "email"
	if s == "" {
		return "", &Error{Field: field, Rule: "is required"}
	}
	if len(s) > 254 {
		return "", &Error{Field: field, Rule: "must be 254 characters at most"}
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return "", &Error{Field: field, Rule: "must have a local part, then @, then a domain"}
	}
	if j := strings.IndexByte(s[at+1:], '@'); j >= 0 {
		return "", &Error{Field: field, Pos: at + 2 + j, Rule: "must contain a single @"}
	}
	for i := 0; i < at; i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte("._%+-", c) >= 0) {
			return "", &Error{Field: field, Pos: i + 1, Rule: "local part may hold letters, digits and . _ % + - only"}
		}
	}
	if s[0] == '.' || s[at-1] == '.' || strings.Contains(s[:at], "..") {
		return "", &Error{Field: field, Rule: "local part must not start or end with a dot or hold two dots in a row"}
	}
	dom := s[at+1:]
	labels := strings.Split(dom, ".")
	if len(labels) < 2 {
		return "", &Error{Field: field, Rule: "domain must have at least two labels (name.tld)"}
	}
	pos := at + 2
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			// An empty last label ("a@b.") has no character of its own: point at the dot before it.
			return "", &Error{Field: field, Pos: min(pos, len(s)), Rule: "domain labels must be 1–63 letters, digits or inner dashes"}
		}
		for i := 0; i < len(l); i++ {
			if !(isAlnum(l[i]) || l[i] == '-') {
				return "", &Error{Field: field, Pos: pos + i, Rule: "domain may hold letters, digits, dots and dashes only"}
			}
		}
		pos += len(l) + 1
	}
	return strings.ToLower(s), nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
