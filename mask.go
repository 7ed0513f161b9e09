package amane

import (
	"strings"
	"unicode/utf8"
)

// Masking: what responses and pages show of a personal field unless it is revealed for a purpose
// (issue 4). Each function keeps only what lets a person recognise their own value, never enough to
// reconstruct it. They work on normalized values and never panic on odd ones: a value too short to
// keep anything is masked whole.

const dot = "•"

// MaskCIN keeps the first two and the last two characters: "AB123467" → "AB••••67".
func MaskCIN(v string) string { return keepEnds(v, 2, 2) }

// MaskImmatriculation keeps the last three digits: "123456789" → "••••••789".
func MaskImmatriculation(v string) string { return keepEnds(v, 0, 3) }

// MaskRIB keeps the last four digits: 24 digits → 20 dots and 4 digits.
func MaskRIB(v string) string { return keepEnds(v, 0, 4) }

// MaskPhone keeps the country prefix and the last two digits: "+212661234567" → "+212•••••••67".
func MaskPhone(v string) string {
	if strings.HasPrefix(v, "+212") {
		return "+212" + keepEnds(v[4:], 0, 2)
	}
	return keepEnds(v, 0, 2)
}

// MaskEmail keeps the first character of the local part and hides the domain: "m.alaoui@x.ma" →
// "m•••@…".
func MaskEmail(v string) string {
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return strings.Repeat(dot, 3)
	}
	r, _ := utf8.DecodeRuneInString(v)
	return string(r) + strings.Repeat(dot, 3) + "@…"
}

// MaskName keeps the first letter of each word: "El Idrissi" → "E• I•".
func MaskName(v string) string {
	words := strings.Fields(v)
	for i, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		words[i] = string(r) + dot
	}
	return strings.Join(words, " ")
}

// keepEnds keeps head runes at the start and tail at the end and replaces the rest with one dot each,
// keeping fewer when that would leave less than half of the value hidden.
func keepEnds(v string, head, tail int) string {
	rs := []rune(v)
	n := len(rs)
	for head+tail > 0 && n-head-tail < (n+1)/2 { // keep no more than half
		if head >= tail && head > 0 {
			head--
		} else {
			tail--
		}
	}
	var b strings.Builder
	b.WriteString(string(rs[:head]))
	b.WriteString(strings.Repeat(dot, n-head-tail))
	b.WriteString(string(rs[n-tail:]))
	return b.String()
}
