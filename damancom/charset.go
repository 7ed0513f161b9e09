package damancom

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// AllowedPunctuation is the punctuation text fields may hold besides A-Z, 0-9 and space.
const AllowedPunctuation = ".,'-/&():"

// allowedSet describes the character set in problems.
const allowedSet = "A-Z, 0-9, space and . , ' - / & : ( )"

// allowed is the text character set, indexed by byte. Byte 0x80 is the placeholder decode puts for a
// non-ASCII character, so it is not allowed either.
var allowed = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t[' '] = true
	for _, c := range AllowedPunctuation {
		t[c] = true
	}
	return t
}()

// Allowed reports whether r may appear in a text field.
func Allowed(r rune) bool { return r < utf8.RuneSelf && allowed[r] }

// Transliterate maps s to the text character set: letters lose their accents (É→E, Ç→C, à→A), lower
// case becomes upper case, ligatures are spelt out (Œ→OE, Æ→AE, ß→SS), typographic apostrophes and
// dashes become ' and -, and any other character outside the set becomes a space. Encode applies it to
// every text field before truncating it to its width. The result may be longer than s (ß→SS).
func Transliterate(s string) string {
	i := 0
	for i < len(s) && allowed[s[i]] {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteString(transliterateRune(r))
	}
	return b.String()
}

// transliterateRune is the replacement of one character; never empty.
func transliterateRune(r rune) string {
	if r < utf8.RuneSelf {
		c := byte(r)
		switch {
		case allowed[c]:
			return s1(c)
		case 'a' <= c && c <= 'z':
			return s1(c - 'a' + 'A')
		}
		return " "
	}
	switch r {
	case 'ß':
		return "SS"
	case 'Æ', 'æ':
		return "AE"
	case 'Œ', 'œ':
		return "OE"
	case 'Ø', 'ø':
		return "O"
	case 'Đ', 'đ', 'Ð', 'ð':
		return "D"
	case 'Ł', 'ł':
		return "L"
	case 'Þ', 'þ':
		return "TH"
	case 'ı':
		return "I"
	case '\u2018', '\u2019', '\u201B', '\u02BC', '\u00B4', '\u2032':
		return "'"
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
		return "-"
	}
	// Compatibility decomposition splits accented letters into a base letter and combining marks
	// (dropped), and ligatures and full-width forms into plain letters.
	var out []byte
	for _, d := range norm.NFKD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, d):
		case d < utf8.RuneSelf:
			out = append(out, transliterateRune(d)...)
		default:
			out = append(out, ' ')
		}
	}
	if len(out) == 0 {
		return " "
	}
	return string(out)
}

func s1(c byte) string { return string(rune(c)) }

// showRune renders a character for a problem: itself when printable, U+XXXX otherwise.
func showRune(r rune) string {
	if r != ' ' && unicode.IsPrint(r) && r != utf8.RuneError {
		return string(r)
	}
	return fmt.Sprintf("U+%04X", r)
}

// transliterationRule names the replacement of r: "É: write E", "«: write a space".
func transliterationRule(r rune) string {
	t := transliterateRune(r)
	if strings.TrimSpace(t) == "" {
		return showRune(r) + ": write a space or remove it"
	}
	return showRune(r) + ": write " + t
}
