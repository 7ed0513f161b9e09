package amane_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"amane"
)

// FuzzCaseNormalize: whatever a case holds, Normalize never panics; a case it accepts has a type of
// the list, a number of that type's prefix, 1 to MaxCaseRecords record references and principal ids
// for staff — so that nothing but references, codes and times is ever stored — and no rule it
// reports repeats a value given.
func FuzzCaseNormalize(f *testing.F) {
	f.Add("demande", "PRE-2026/0001", "employee/1,employer/2", "account/3", "CASA-ANFA", "guichet", "account/3")
	f.Add("controle", "CTL-2026/0001", "employer/7", "", "", "mission", "cli:case open")
	f.Add("traitement", "TRT-2026/0001", "employee/01", "token/x", "casa", "declaration/0", "Fatima Alaoui")
	f.Add("droits", "DRT-2026/0001", "AB123456", "operator:3fa2c1d04b9e", "RABAT-AGDAL", "imm_request/4", "operator:3fa2c1d04b9e")
	number := regexp.MustCompile(`^[A-Z]{3}-\d{4}/\d{4}$`)
	// The rules' own words: every rule Normalize can give, so that a value found in a rule is an
	// echo only if the rules' vocabulary does not hold it anyway.
	var known strings.Builder
	bad := &amane.Case{Type: "x", Number: "x", Records: []string{"x"}, Staff: []string{"x"}, Team: "x", Opened: "x", OpenedBy: "x", Origin: "x", Closed: "x", ClosedBy: "x"}
	for _, e := range bad.Normalize() {
		known.WriteString(e.Rule + "\n")
	}
	for _, ct := range amane.CaseTypes {
		wrong := &amane.Case{Type: ct.Code, Number: "ZZZ-2026/0001", Records: make([]string, amane.MaxCaseRecords+1), Staff: make([]string, amane.MaxCaseStaff+1)}
		for _, e := range wrong.Normalize() {
			known.WriteString(e.Rule + "\n")
		}
	}
	vocabulary := known.String()
	f.Fuzz(func(t *testing.T, typ, num, records, staff, team, origin, by string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		c := &amane.Case{Type: typ, Number: num, Records: split(records), Staff: split(staff), Team: team,
			Opened: "2026-11-23T09:00:00Z", OpenedBy: by, Origin: origin}
		errs := c.Normalize()
		for _, e := range errs {
			for _, v := range append(split(records), num, team, origin, by, typ) {
				if len(v) >= 4 && strings.Contains(e.Rule, v) && !strings.Contains(vocabulary, v) {
					t.Fatalf("rule %q repeats the value %q", e.Rule, v)
				}
			}
		}
		if len(errs) > 0 {
			var ae *amane.Error
			if err := amane.CheckCase(c); !errors.As(err, &ae) || ae.Code != amane.EINVALID {
				t.Fatalf("CheckCase: %v", err)
			}
			return
		}
		ct, ok := amane.CaseTypeOf(c.Type)
		if !ok || !number.MatchString(c.Number) || !strings.HasPrefix(c.Number, ct.Prefix+"-") {
			t.Fatalf("accepted type %q number %q", c.Type, c.Number)
		}
		if len(c.Records) == 0 || len(c.Records) > amane.MaxCaseRecords {
			t.Fatalf("accepted %d records", len(c.Records))
		}
		for _, r := range c.Records {
			if !amane.ValidRecordRef(r) {
				t.Fatalf("accepted record %q", r)
			}
		}
		for _, p := range c.Staff {
			if !amane.ValidPrincipalRef(p) {
				t.Fatalf("accepted staff %q", p)
			}
		}
		if !amane.ValidCaseOrigin(c.Origin) {
			t.Fatalf("accepted origin %q", c.Origin)
		}
	})
}
