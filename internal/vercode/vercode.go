// Package vercode draws and parses the verification codes attestations carry: "AMN-" then 10
// characters of Crockford's base32 (no I, L, O, U: nothing to misread), 9 random (44.6 bits: 53,574 codes a run collide with odds below 1 in 20,000, and a
// collision is caught by the store and drawn again) and 1 check character that catches any single
// mistyped character and any swap of two neighbours.
//
// It stands apart from package attest so that package gate, which draws a code for every attestation
// it issues and parses the codes it is asked to check or revoke, does not import the PDF, QR and CMS
// libraries that attest renders and signs with. Package attest re-exports New and Parse as NewCode and
// ParseCode.
package vercode

import (
	"crypto/rand"
	"errors"
	"strings"
)

const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ErrCode is returned for a code that is not one Amane could have issued.
var ErrCode = errors.New("attest: not a verification code (AMN-XXXXX-XXXXX)")

// New draws a fresh verification code.
func New() string {
	var r [9]byte
	rand.Read(r[:])
	var b [10]byte
	for i, x := range r {
		b[i] = codeAlphabet[x%31] // 31 symbols (no Z): see check
	}
	b[9] = codeAlphabet[check(b[:9])]
	return "AMN-" + string(b[:5]) + "-" + string(b[5:])
}

// check is a weighted sum mod 31, in 0..30. Characters are drawn from the first 31 symbols, so a
// change at position w by d (|d| ≤ 30) shifts the sum by w·d, never a multiple of the prime 31, and a
// swap of neighbours by ±d: both are caught.
func check(b []byte) int {
	s := 0
	for i, c := range b {
		s += (i + 1) * strings.IndexByte(codeAlphabet, c)
	}
	return s % 31
}

// Parse normalizes a typed code (any case, spaces or dashes — copied from a PDF, maybe typographic
// ones — anywhere, I/L read as 1, O as 0)
// and checks it.
func Parse(s string) (string, error) {
	s = strings.ToUpper(s)
	s = strings.TrimPrefix(strings.NewReplacer(" ", "", "-", "", "\u2010", "", "\u2011", "", "\u2013", "", "\u2014", "").Replace(s), "AMN")
	s = strings.NewReplacer("I", "1", "L", "1", "O", "0").Replace(s)
	if len(s) != 10 {
		return "", ErrCode
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(codeAlphabet[:31], s[i]) < 0 { // Z is never drawn
			return "", ErrCode
		}
	}
	if codeAlphabet[check([]byte(s[:9]))] != s[9] {
		return "", ErrCode
	}
	return "AMN-" + s[:5] + "-" + s[5:], nil
}
