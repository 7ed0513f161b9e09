package ids_test

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"amane/ids"
)

// Published known-answer vectors.
const (
	knownICE = "001561191000066"
	knownRIB = "001810007800020110620318"
)

// ruleTemplates is every rule ids may report, "%d" standing for a number (a length, never a value).
// An error whose Rule matches none of them may be carrying something it should not.
var ruleTemplates = []string{
	"is required",
	"must be a digit",
	"must be exactly %d digits, has %d",
	"must be %d to %d digits, has %d",
	"999999999 is reserved for occasional workers",
	"must not be all zeros",
	"must be 8 characters at most, has %d",
	"letters must come before the digits",
	"must start with 1 or 2 letters, then digits",
	"must start with 1 or 2 letters",
	"must be a letter or a digit",
	"must end with digits",
	"must be 5 to 20 characters, has %d",
	"control digits (positions 14–15) do not match: the number must be divisible by 97",
	"key (positions 23–24) does not match: the number must be divisible by 97",
	"must be digits, optionally starting with +",
	"must start with 0, +212 or 00212",
	"must have 9 digits after the prefix, has %d",
	"the number after the prefix must start with 5, 6 or 7",
	"must be 254 characters at most",
	"must have a local part, then @, then a domain",
	"must contain a single @",
	"local part may hold letters, digits and . _ % + - only",
	"local part must not start or end with a dot or hold two dots in a row",
	"domain must have at least two labels (name.tld)",
	"domain labels must be 1–63 letters, digits or inner dashes",
	"domain may hold letters, digits, dots and dashes only",
}

var fields = []string{"affiliation", "immatriculation", "cin", "passeport", "ice", "rib", "if", "rc", "tp",
	"code_banque", "telephone", "email"}

var (
	ruleRegexps []*regexp.Regexp
	// staticTexts holds the shape of every message ids can produce: its static text, with a token
	// standing for each number (a position or a length, never a value).
	staticTexts [][]tok
)

func init() {
	for _, r := range ruleTemplates {
		ruleRegexps = append(ruleRegexps, regexp.MustCompile("^"+strings.ReplaceAll(regexp.QuoteMeta(r), "%d", "[0-9]+")+"$"))
		for _, f := range fields {
			staticTexts = append(staticTexts, compile(f+": "+r), compile(f+": character %d: "+r))
		}
	}
}

// tok is one element of a message shape: a literal byte, or a number (digits, when number is set).
type tok struct {
	lit    byte
	number bool
}

func compile(tmpl string) []tok {
	var ts []tok
	for i := 0; i < len(tmpl); i++ {
		if strings.HasPrefix(tmpl[i:], "%d") {
			ts = append(ts, tok{number: true})
			i++
			continue
		}
		ts = append(ts, tok{lit: tmpl[i]})
	}
	return ts
}

// maxNumber bounds the digits a number of a message may have when deciding whether an input is
// static text: an input short enough to fit in a message has positions and lengths below 1000.
const maxNumber = 3

// subOf reports whether in is a substring of some message of shape ts.
func subOf(ts []tok, in string) bool {
	type state struct{ p, n int } // next token p, n digits already read in the number at p
	cur := map[state]bool{}
	add := func(set map[state]bool, s state) {
		set[s] = true
		if s.p < len(ts) && ts[s.p].number && s.n > 0 { // a number may end after any digit
			set[state{s.p + 1, 0}] = true
		}
	}
	for p := 0; p <= len(ts); p++ {
		for n := 0; n < maxNumber && p < len(ts) && ts[p].number; n++ {
			add(cur, state{p, n}) // the substring may start inside a number
		}
		add(cur, state{p, 0})
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		next := map[state]bool{}
		for s := range cur {
			if s.p >= len(ts) {
				continue
			}
			t := ts[s.p]
			switch {
			case t.number && c >= '0' && c <= '9' && s.n < maxNumber:
				add(next, state{s.p, s.n + 1})
			case !t.number && t.lit == c:
				add(next, state{s.p + 1, 0})
			}
		}
		if len(next) == 0 {
			return false
		}
		cur = next
	}
	return true
}

// isStatic reports whether in could be a piece of the static text of a message rather than a value,
// e.g. "999999999", which is the rule itself.
func isStatic(in string) bool {
	for _, ts := range staticTexts {
		if subOf(ts, in) {
			return true
		}
	}
	return false
}

// checkError asserts that err is an *ids.Error for field, well formed, whose message names the field,
// the position and the rule only, never the input.
func checkError(t *testing.T, field, in string, err error) *ids.Error {
	t.Helper()
	var ie *ids.Error
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *ids.Error", err, err)
	}
	if ie.Field == "" || ie.Rule == "" {
		t.Fatalf("error %#v lacks a field or a rule", ie)
	}
	if ie.Field != field {
		t.Errorf("Field = %q, want %q", ie.Field, field)
	}
	if ie.Pos < 0 || ie.Pos > len(in) {
		t.Errorf("Pos = %d, want 0..%d (len of input %q); rule %q", ie.Pos, len(in), in, ie.Rule)
	}
	known := false
	for _, re := range ruleRegexps {
		if re.MatchString(ie.Rule) {
			known = true
			break
		}
	}
	if !known {
		t.Errorf("rule %q is not one of the static rules: it may carry the value", ie.Rule)
	}
	want := ie.Field + ": " + ie.Rule
	if ie.Pos > 0 {
		want = fmt.Sprintf("%s: character %d: %s", ie.Field, ie.Pos, ie.Rule)
	}
	msg := err.Error()
	if msg != want {
		t.Errorf("Error() = %q, want %q", msg, want)
	}
	if len(in) >= 4 && strings.Contains(msg, in) && !isStatic(in) {
		t.Errorf("error %q contains the input %q", msg, in)
	}
	return ie
}

type parseCase struct {
	name string
	in   string
	want string // normalized value when the case is valid
	pos  int    // for an error: the expected Pos
	rule string // for an error: a substring of the expected Rule; "" means the value is valid
}

func runParse(t *testing.T, parse func(string) (string, error), field string, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.in)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("parse(%q): unexpected error %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("parse(%q) = %q, want %q", tc.in, got, tc.want)
				}
				again, err := parse(got)
				if err != nil || again != got {
					t.Fatalf("parse(%q) = %q, %v: the normalized value does not re-parse to itself", got, again, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parse(%q) = %q, want an error %q", tc.in, got, tc.rule)
			}
			if got != "" {
				t.Errorf("parse(%q) returned %q along with an error", tc.in, got)
			}
			ie := checkError(t, field, tc.in, err)
			if ie.Pos != tc.pos {
				t.Errorf("Pos = %d, want %d (%v)", ie.Pos, tc.pos, err)
			}
			if !strings.Contains(ie.Rule, tc.rule) {
				t.Errorf("Rule = %q, want it to contain %q", ie.Rule, tc.rule)
			}
		})
	}
}

func TestParseAffiliation(t *testing.T) {
	runParse(t, ids.ParseAffiliation, "affiliation", []parseCase{
		{name: "OK", in: "1234567", want: "1234567"},
		{name: "OKLeadingZeros", in: "0000001", want: "0000001"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrTooShort", in: "123456", rule: "must be exactly 7 digits, has 6"},
		{name: "ErrTooLong", in: "12345678", rule: "must be exactly 7 digits, has 8"},
		{name: "ErrNotDigit", in: "12a4567", pos: 3, rule: "must be a digit"},
		{name: "ErrSpace", in: "1234567 ", pos: 8, rule: "must be a digit"},
		{name: "ErrSign", in: "-123456", pos: 1, rule: "must be a digit"},
		{name: "ErrArabicIndicDigit", in: "123456\u0667", pos: 7, rule: "must be a digit"},
	})
}

func TestParseImmatriculation(t *testing.T) {
	runParse(t, ids.ParseImmatriculation, "immatriculation", []parseCase{
		{name: "OK", in: "123456789", want: "123456789"},
		{name: "OKAlmostOccasional", in: "999999998", want: "999999998"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrOccasionalWorker", in: ids.OccasionalWorker, rule: "reserved for occasional workers"},
		{name: "ErrAllZeros", in: "000000000", rule: "must not be all zeros"},
		{name: "ErrTooShort", in: "12345678", rule: "must be exactly 9 digits, has 8"},
		{name: "ErrTooLong", in: "1234567890", rule: "must be exactly 9 digits, has 10"},
		{name: "ErrNotDigit", in: "1234X6789", pos: 5, rule: "must be a digit"},
	})
}

func TestParseCIN(t *testing.T) {
	runParse(t, ids.ParseCIN, "cin", []parseCase{
		{name: "OK", in: "BK123456", want: "BK123456"},
		{name: "OKOneLetter", in: "A1", want: "A1"},
		{name: "OKOneLetterLong", in: "J1234567", want: "J1234567"},
		{name: "OKLowerCase", in: "bk12345", want: "BK12345"},
		{name: "OKMixedCase", in: "bK12345", want: "BK12345"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrThreeLetters", in: "ABC123", pos: 3, rule: "must start with 1 or 2 letters, then digits"},
		{name: "ErrLetterAfterDigits", in: "A12B34", pos: 4, rule: "letters must come before the digits"},
		{name: "ErrTrailingLetter", in: "AB1234C", pos: 7, rule: "letters must come before the digits"},
		{name: "ErrDigitsFirst", in: "123456", pos: 1, rule: "must start with 1 or 2 letters"},
		{name: "ErrTooLong", in: "AB1234567", rule: "must be 8 characters at most, has 9"},
		{name: "ErrNoDigits", in: "AB", rule: "must end with digits"},
		{name: "ErrDash", in: "AB-12345", pos: 3, rule: "must be a letter or a digit"},
		{name: "ErrSpace", in: "AB 1234", pos: 3, rule: "must be a letter or a digit"},
		{name: "ErrNonASCII", in: "É12345", pos: 1, rule: "must be a letter or a digit"},
	})
}

func TestParsePassport(t *testing.T) {
	runParse(t, ids.ParsePassport, "passeport", []parseCase{
		{name: "OK", in: "AB1234567", want: "AB1234567"},
		{name: "OKLowerCase", in: "xz98765", want: "XZ98765"},
		{name: "OKShortest", in: "12345", want: "12345"},
		{name: "OKLongest", in: strings.Repeat("a", 20), want: strings.Repeat("A", 20)},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrTooShort", in: "AB12", rule: "must be 5 to 20 characters, has 4"},
		{name: "ErrTooLong", in: strings.Repeat("A", 21), rule: "must be 5 to 20 characters, has 21"},
		{name: "ErrDash", in: "AB12-45", pos: 5, rule: "must be a letter or a digit"},
	})
}

func TestParseICE(t *testing.T) {
	runParse(t, ids.ParseICE, "ice", []parseCase{
		{name: "OKKnownAnswer", in: knownICE, want: knownICE},
		{name: "OKComputedKey", in: "0000000000001" + ids.Key97("0000000000001"), want: "000000000000194"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrBadControl", in: "001561191000067", pos: 14, rule: "control digits (positions 14–15)"},
		{name: "ErrBadControlSwapped", in: "001561191000060", pos: 14, rule: "divisible by 97"},
		{name: "ErrBadBody", in: "101561191000066", pos: 14, rule: "divisible by 97"},
		{name: "ErrTooShort", in: knownICE[:14], rule: "must be exactly 15 digits, has 14"},
		{name: "ErrTooLong", in: knownICE + "0", rule: "must be exactly 15 digits, has 16"},
		{name: "ErrNotDigit", in: "00156119100006X", pos: 15, rule: "must be a digit"},
		{name: "ErrSpaces", in: "001 561 191 000 066", pos: 4, rule: "must be a digit"},
	})
}

func TestParseRIB(t *testing.T) {
	runParse(t, ids.ParseRIB, "rib", []parseCase{
		{name: "OKKnownAnswer", in: knownRIB, want: knownRIB},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrBadKey", in: knownRIB[:22] + "19", pos: 23, rule: "key (positions 23–24) does not match"},
		{name: "ErrBadKeyZero", in: knownRIB[:22] + "00", pos: 23, rule: "divisible by 97"},
		{name: "ErrBadAccount", in: "001810007800020110620418", pos: 23, rule: "divisible by 97"},
		{name: "ErrSwappedDigits", in: "001810007800020110602318", pos: 23, rule: "divisible by 97"},
		{name: "ErrTooShort", in: knownRIB[:23], rule: "must be exactly 24 digits, has 23"},
		{name: "ErrTooLong", in: knownRIB + "7", rule: "must be exactly 24 digits, has 25"},
		{name: "ErrNotDigit", in: "00181000780002011062031A", pos: 24, rule: "must be a digit"},
		{name: "ErrNotDigitFirst", in: "X01810007800020110620318", pos: 1, rule: "must be a digit"},
		{name: "ErrSpaces", in: "001 810 0078000201106203 18", pos: 4, rule: "must be a digit"},
		{name: "ErrIBAN", in: "MA64" + knownRIB, pos: 1, rule: "must be a digit"},
	})
	t.Run("OKHelpers", func(t *testing.T) {
		if got := ids.RIBBank(knownRIB); got != "001" {
			t.Errorf("RIBBank = %q, want 001", got)
		}
		if got := ids.IBAN(knownRIB); got != "MA64"+knownRIB {
			t.Errorf("IBAN = %q", got)
		}
	})
}

func TestParseIFRCTP(t *testing.T) {
	for _, p := range []struct {
		field string
		parse func(string) (string, error)
	}{{"if", ids.ParseIF}, {"rc", ids.ParseRC}, {"tp", ids.ParseTP}} {
		t.Run(p.field, func(t *testing.T) {
			runParse(t, p.parse, p.field, []parseCase{
				{name: "OK", in: "1", want: "1"},
				{name: "OKLongest", in: strings.Repeat("9", 15), want: strings.Repeat("9", 15)},
				{name: "ErrEmpty", in: "", rule: "is required"},
				{name: "ErrTooLong", in: strings.Repeat("9", 16), rule: "must be 1 to 15 digits, has 16"},
				{name: "ErrNotDigit", in: "123/45", pos: 4, rule: "must be a digit"},
			})
		})
	}
}

func TestParseBankCode(t *testing.T) {
	runParse(t, ids.ParseBankCode, "code_banque", []parseCase{
		{name: "OK", in: "007", want: "007"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrTooShort", in: "07", rule: "must be exactly 3 digits, has 2"},
		{name: "ErrTooLong", in: "0077", rule: "must be exactly 3 digits, has 4"},
		{name: "ErrNotDigit", in: "0O7", pos: 2, rule: "must be a digit"},
	})
}

func TestParsePhone(t *testing.T) {
	runParse(t, ids.ParsePhone, "telephone", []parseCase{
		{name: "OKNational", in: "0612345678", want: "+212612345678"},
		{name: "OKFixed", in: "0522123456", want: "+212522123456"},
		{name: "OKSeven", in: "0712345678", want: "+212712345678"},
		{name: "OKInternational", in: "+212612345678", want: "+212612345678"},
		{name: "OKDoubleZero", in: "00212612345678", want: "+212612345678"},
		{name: "OKNationalSpaces", in: "06 12 34 56 78", want: "+212612345678"},
		{name: "OKInternationalSpaces", in: "+212 6 12 34 56 78", want: "+212612345678"},
		{name: "OKDoubleZeroSpaces", in: "00212 6 12 34 56 78", want: "+212612345678"},
		{name: "OKDots", in: "06.12.34.56.78", want: "+212612345678"},
		{name: "OKDashes", in: "06-12-34-56-78", want: "+212612345678"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrBadPrefix", in: "0812345678", rule: "must start with 5, 6 or 7"},
		{name: "ErrBadPrefixInternational", in: "+212812345678", rule: "must start with 5, 6 or 7"},
		{name: "ErrNoPrefix", in: "612345678", pos: 1, rule: "must start with 0, +212 or 00212"},
		{name: "ErrForeign", in: "+33612345678", pos: 1, rule: "must start with 0, +212 or 00212"},
		{name: "ErrPlusZero", in: "+0612345678", pos: 1, rule: "must start with 0, +212 or 00212"},
		{name: "ErrPlusDoubleZero", in: "+00212612345678", pos: 1, rule: "must start with 0, +212 or 00212"},
		{name: "ErrTooShort", in: "061234567", rule: "must have 9 digits after the prefix, has 8"},
		{name: "ErrTooLong", in: "06123456789", rule: "must have 9 digits after the prefix, has 10"},
		{name: "ErrTooLongInternational", in: "+2120612345678", rule: "has 10"},
		{name: "ErrLetter", in: "06a2345678", pos: 3, rule: "must be digits, optionally starting with +"},
		{name: "ErrInnerPlus", in: "0612+45678", pos: 5, rule: "must be digits, optionally starting with +"},
		{name: "ErrParenthesis", in: "(+212)612345678", pos: 1, rule: "must be digits"},
		{name: "ErrPlusOnly", in: "+", pos: 1, rule: "must start with 0, +212 or 00212"},
	})
}

func TestParseEmail(t *testing.T) {
	label63 := strings.Repeat("d", 63)
	runParse(t, ids.ParseEmail, "email", []parseCase{
		{name: "OK", in: "fatima@example.ma", want: "fatima@example.ma"},
		{name: "OKLowerCased", in: "Fatima.Zahra@Example.MA", want: "fatima.zahra@example.ma"},
		{name: "OKSymbols", in: "a_b%c+d-e@mail-1.example.co.ma", want: "a_b%c+d-e@mail-1.example.co.ma"},
		{name: "OKLongLabel", in: "a@" + label63 + ".ma", want: "a@" + label63 + ".ma"},
		{name: "OKLongest", in: strings.Repeat("a", 64) + "@" + label63 + "." + label63 + "." + strings.Repeat("e", 58) + ".ma",
			want: strings.Repeat("a", 64) + "@" + label63 + "." + label63 + "." + strings.Repeat("e", 58) + ".ma"},
		{name: "ErrEmpty", in: "", rule: "is required"},
		{name: "ErrTooLong", in: strings.Repeat("a", 64) + "@" + label63 + "." + label63 + "." + strings.Repeat("e", 59) + ".ma",
			rule: "must be 254 characters at most"},
		{name: "ErrNoAt", in: "fatima.example.ma", rule: "must have a local part, then @, then a domain"},
		{name: "ErrNoLocal", in: "@example.ma", rule: "must have a local part"},
		{name: "ErrTwoAts", in: "a@b@example.ma", pos: 4, rule: "must contain a single @"},
		{name: "ErrSpace", in: "fa tima@example.ma", pos: 3, rule: "local part may hold"},
		{name: "ErrQuoted", in: `"fatima"@example.ma`, pos: 1, rule: "local part may hold"},
		{name: "ErrNonASCIILocal", in: "saïd@example.ma", pos: 3, rule: "local part may hold"},
		{name: "ErrLeadingDot", in: ".fatima@example.ma", rule: "must not start or end with a dot"},
		{name: "ErrTrailingDot", in: "fatima.@example.ma", rule: "must not start or end with a dot"},
		{name: "ErrDoubleDot", in: "fa..tima@example.ma", rule: "two dots in a row"},
		{name: "ErrOneLabel", in: "fatima@localhost", rule: "at least two labels"},
		{name: "ErrNoDomain", in: "fatima@", rule: "at least two labels"},
		{name: "ErrEmptyLabel", in: "fatima@example..ma", pos: 16, rule: "domain labels must be 1–63"},
		{name: "ErrLeadingDotDomain", in: "fatima@.example.ma", pos: 8, rule: "domain labels must be 1–63"},
		{name: "ErrLeadingDash", in: "fatima@-example.ma", pos: 8, rule: "domain labels must be 1–63"},
		{name: "ErrTrailingDash", in: "fatima@example-.ma", pos: 8, rule: "domain labels must be 1–63"},
		{name: "ErrLabelTooLong", in: "a@" + label63 + "d.ma", pos: 3, rule: "domain labels must be 1–63"},
		{name: "ErrUnderscoreDomain", in: "fatima@exa_mple.ma", pos: 11, rule: "domain may hold"},
		{name: "ErrBadCharSecondLabel", in: "fatima@example.m!a", pos: 17, rule: "domain may hold"},
	})
}

// TestErrorNoValue checks, over a spread of bad values of every parser, that the message names the
// field, the position and the rule, never the value.
func TestErrorNoValue(t *testing.T) {
	personal := []struct {
		field string
		parse func(string) (string, error)
		in    string
	}{
		{"cin", ids.ParseCIN, "BK12345X"},
		{"cin", ids.ParseCIN, "BK1234567"},
		{"passeport", ids.ParsePassport, "ZZ12345!"},
		{"immatriculation", ids.ParseImmatriculation, "12345678"},
		{"rib", ids.ParseRIB, knownRIB[:22] + "19"},
		{"rib", ids.ParseRIB, knownRIB + "1"},
		{"ice", ids.ParseICE, "001561191000067"},
		{"telephone", ids.ParsePhone, "0812345678"},
		{"telephone", ids.ParsePhone, "06123456789"},
		{"email", ids.ParseEmail, "fatima.zahra@example"},
		{"email", ids.ParseEmail, "fatima zahra@example.ma"},
	}
	for _, tc := range personal {
		t.Run("Err_"+tc.field, func(t *testing.T) {
			_, err := tc.parse(tc.in)
			if err == nil {
				t.Fatalf("%q: want an error", tc.in)
			}
			checkError(t, tc.field, tc.in, err)
			for i := 0; i+4 <= len(tc.in); i++ { // no piece of 4 characters of the value either, unless static
				piece := tc.in[i : i+4]
				if strings.Contains(err.Error(), piece) && !isStatic(piece) {
					t.Errorf("error %q contains %q, a piece of the value", err, piece)
				}
			}
		})
	}
}

func TestKey97(t *testing.T) {
	r := rand.New(rand.NewPCG(20240601, 97))
	digit := func() byte { return byte('0' + r.IntN(10)) }
	t.Run("OKKnownAnswer", func(t *testing.T) {
		if got := ids.Key97(knownRIB[:22]); got != knownRIB[22:] {
			t.Errorf("Key97(%s) = %s, want %s", knownRIB[:22], got, knownRIB[22:])
		}
		if got := ids.Key97(knownICE[:13]); got != knownICE[13:] {
			t.Errorf("Key97(%s) = %s, want %s", knownICE[:13], got, knownICE[13:])
		}
	})
	t.Run("OKRandomRIB", func(t *testing.T) {
		for n := 0; n < 1000; n++ {
			p := make([]byte, 22)
			for i := range p {
				p[i] = digit()
			}
			key := ids.Key97(string(p))
			if len(key) != 2 || key < "01" || key > "97" {
				t.Fatalf("Key97(%s) = %q, want two digits in 01..97", p, key)
			}
			rib := string(p) + key
			if got, err := ids.ParseRIB(rib); err != nil || got != rib {
				t.Fatalf("ParseRIB(%s) = %q, %v; want it valid", rib, got, err)
			}
			// Changing any one digit, to any other digit, breaks the key.
			b := []byte(rib)
			for i := range b {
				orig := b[i]
				for d := byte('0'); d <= '9'; d++ {
					if d == orig {
						continue
					}
					b[i] = d
					if _, err := ids.ParseRIB(string(b)); err == nil {
						t.Fatalf("ParseRIB(%s) accepted %s changed at position %d", b, rib, i+1)
					} else if ie := checkError(t, "rib", string(b), err); ie.Pos != 23 {
						t.Fatalf("ParseRIB(%s): Pos %d, want 23", b, ie.Pos)
					}
				}
				b[i] = orig
			}
		}
	})
	t.Run("OKRandomICE", func(t *testing.T) {
		for n := 0; n < 1000; n++ {
			p := make([]byte, 13)
			for i := range p {
				p[i] = digit()
			}
			ice := string(p) + ids.Key97(string(p))
			if _, err := ids.ParseICE(ice); err != nil {
				t.Fatalf("ParseICE(%s): %v", ice, err)
			}
		}
	})
	t.Run("OKKey97", func(t *testing.T) { // prefix ≡ 0 mod 97 needs the key 97, not 00
		if got := ids.Key97("97"); got != "97" {
			t.Errorf("Key97(97) = %s, want 97", got)
		}
		if got := ids.Key97(""); got != "97" {
			t.Errorf("Key97(\"\") = %s, want 97", got)
		}
	})
}

func TestMod97(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 97))
	n97 := big.NewInt(97)
	t.Run("OKSmall", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want int
		}{{"", 0}, {"0", 0}, {"96", 96}, {"97", 0}, {"98", 1}, {"0000194", 0}, {knownRIB, 0}, {knownICE, 0}} {
			if got := ids.Mod97(tc.in); got != tc.want {
				t.Errorf("Mod97(%q) = %d, want %d", tc.in, got, tc.want)
			}
		}
	})
	t.Run("OKBig", func(t *testing.T) {
		for n := 0; n < 1000; n++ {
			b := make([]byte, 1+r.IntN(300))
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			x, ok := new(big.Int).SetString(string(b), 10)
			if !ok {
				t.Fatalf("math/big cannot parse %s", b)
			}
			want := int(new(big.Int).Mod(x, n97).Int64())
			if got := ids.Mod97(string(b)); got != want {
				t.Fatalf("Mod97(%s) = %d, want %d", b, got, want)
			}
		}
	})
}

// Fuzz targets. Each checks: no panic; on success, the shape and idempotent normalization; on
// failure, a well-formed *ids.Error that does not carry the input.

var (
	reRIB   = regexp.MustCompile(`^[0-9]{24}$`)
	reICE   = regexp.MustCompile(`^[0-9]{15}$`)
	reCIN   = regexp.MustCompile(`^[A-Z]{1,2}[0-9]+$`)
	rePhone = regexp.MustCompile(`^\+212[5-7][0-9]{8}$`)
	reEmail = regexp.MustCompile(`^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	reImm   = regexp.MustCompile(`^[0-9]{9}$`)
)

func fuzzParse(f *testing.F, field string, parse func(string) (string, error), seeds []string, valid func(t *testing.T, in, out string)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := parse(in)
		if err != nil {
			if out != "" {
				t.Errorf("parse(%q) returned %q along with an error", in, out)
			}
			checkError(t, field, in, err)
			return
		}
		valid(t, in, out)
		again, err := parse(out)
		if err != nil || again != out {
			t.Errorf("parse(%q) = %q, but parse(%q) = %q, %v: normalization is not idempotent", in, out, out, again, err)
		}
	})
}

func FuzzParseRIB(f *testing.F) {
	fuzzParse(f, "rib", ids.ParseRIB,
		[]string{knownRIB, knownRIB[:22] + "19", knownRIB[:23], knownRIB + "0", "", "00181000780002011062031A", "MA64" + knownRIB},
		func(t *testing.T, in, out string) {
			if !reRIB.MatchString(out) || ids.Mod97(out) != 0 || out != in {
				t.Errorf("ParseRIB(%q) = %q: not 24 digits divisible by 97, or not the input", in, out)
			}
		})
}

func FuzzParseICE(f *testing.F) {
	fuzzParse(f, "ice", ids.ParseICE,
		[]string{knownICE, "001561191000067", knownICE[:14], "", "00156119100006X"},
		func(t *testing.T, in, out string) {
			if !reICE.MatchString(out) || ids.Mod97(out) != 0 || out != in {
				t.Errorf("ParseICE(%q) = %q: not 15 digits divisible by 97, or not the input", in, out)
			}
		})
}

func FuzzParseCIN(f *testing.F) {
	fuzzParse(f, "cin", ids.ParseCIN,
		[]string{"BK123456", "a1", "ABC123", "A12B34", "AB1234567", "123456", "AB", "", "É12345"},
		func(t *testing.T, in, out string) {
			if !reCIN.MatchString(out) || len(out) > 8 || out != strings.ToUpper(in) {
				t.Errorf("ParseCIN(%q) = %q: not 1–2 upper-case letters then digits, 8 at most, or not the input in upper case", in, out)
			}
		})
}

func FuzzParsePhone(f *testing.F) {
	fuzzParse(f, "telephone", ids.ParsePhone,
		[]string{"0612345678", "+212612345678", "00212 6 12 34 56 78", "06.12.34.56.78", "0812345678", "+33612345678",
			"061234567", "+", "", "0612+45678"},
		func(t *testing.T, in, out string) {
			if !rePhone.MatchString(out) {
				t.Errorf("ParsePhone(%q) = %q, want +212[5-7]XXXXXXXX", in, out)
			}
			var d strings.Builder
			for _, c := range in {
				if c >= '0' && c <= '9' {
					d.WriteRune(c)
				}
			}
			if !strings.HasSuffix(d.String(), out[4:]) {
				t.Errorf("ParsePhone(%q) = %q: the national number is not the input's last 9 digits", in, out)
			}
		})
}

func FuzzParseEmail(f *testing.F) {
	fuzzParse(f, "email", ids.ParseEmail,
		[]string{"Fatima.Zahra@Example.MA", "a@b.ma", "a@b@c.ma", ".a@b.ma", "a@localhost", "a@-b.ma", "a@b_c.ma", "", "@",
			"a@b..ma"},
		func(t *testing.T, in, out string) {
			if !reEmail.MatchString(out) || len(out) > 254 || out != strings.ToLower(in) {
				t.Errorf("ParseEmail(%q) = %q: not a lower-case local@domain.tld, or not the input in lower case", in, out)
			}
		})
}

func FuzzParseImmatriculation(f *testing.F) {
	fuzzParse(f, "immatriculation", ids.ParseImmatriculation,
		[]string{"123456789", ids.OccasionalWorker, "000000000", "12345678", "1234567890", "1234X6789", ""},
		func(t *testing.T, in, out string) {
			if !reImm.MatchString(out) || out == ids.OccasionalWorker || out == "000000000" || out != in {
				t.Errorf("ParseImmatriculation(%q) = %q: not 9 digits, reserved, or not the input", in, out)
			}
		})
}
