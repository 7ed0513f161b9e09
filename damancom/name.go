package damancom

import (
	"errors"
	"strconv"
	"strings"
)

// File kinds, as ParseName returns them.
const (
	KindPreetabli     = "preetabli"     // AFFEBDS_<affiliation>_<period>.txt
	KindDeclaration   = "declaration"   // DS_<affiliation>_<period>.txt
	KindComplementary = "complementary" // DSC<n>_<affiliation>_<period>.txt
)

// PreetabliName is the name of the préétabli of affiliation aff (7 digits) for period (AAAAMM).
func PreetabliName(aff, period string) string { return "AFFEBDS_" + aff + "_" + period + ".txt" }

// DeclarationName is the name of the declaration of affiliation aff for period (AAAAMM).
func DeclarationName(aff, period string) string { return "DS_" + aff + "_" + period + ".txt" }

// ComplementaryName is the name of the n-th complementary declaration (n from 1) of affiliation aff
// for period (AAAAMM).
func ComplementaryName(n int, aff, period string) string {
	return "DSC" + strconv.Itoa(n) + "_" + aff + "_" + period + ".txt"
}

var errName = errors.New("damancom: not a Damancom file name: want AFFEBDS_, DS_ or DSC<n>_, " +
	"a 7-digit affiliation, _, a period AAAAMM or MMAAAA, and .txt")

// ParseName reads a file name (not a path) as the functions above write it: kind is KindPreetabli,
// KindDeclaration or KindComplementary, n the complementary declaration's number (0 for the others),
// and period is returned as AAAAMM whether the name spells it AAAAMM or MMAAAA (the cahier is
// ambiguous; with years 1900-2999 the two never overlap). The prefix is upper case; the extension
// may be .txt or .TXT.
func ParseName(name string) (kind string, n int, aff, period string, err error) {
	base, ok := strings.CutSuffix(name, ".txt")
	if !ok {
		base, ok = strings.CutSuffix(name, ".TXT")
	}
	parts := strings.Split(base, "_")
	if !ok || len(parts) != 3 {
		return "", 0, "", "", errName
	}
	switch prefix := parts[0]; {
	case prefix == "AFFEBDS":
		kind = KindPreetabli
	case prefix == "DS":
		kind = KindDeclaration
	case strings.HasPrefix(prefix, "DSC"):
		digits := prefix[3:]
		if len(digits) == 0 || len(digits) > 4 || digits[0] == '0' || !isDigits(digits) {
			return "", 0, "", "", errName
		}
		kind, n = KindComplementary, atoi(digits)
	default:
		return "", 0, "", "", errName
	}
	aff, date := parts[1], parts[2]
	if len(aff) != fAff.width() || !isDigits(aff) || len(date) != 6 {
		return "", 0, "", "", errName
	}
	switch {
	case validPeriod(date):
		period = date
	case validPeriod(date[2:] + date[:2]):
		period = date[2:] + date[:2]
	default:
		return "", 0, "", "", errName
	}
	return kind, n, aff, period, nil
}
