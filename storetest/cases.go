package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"amane"
)

func testCases(t *testing.T, s Store) {
	ctx := context.Background()
	newCase := func(typ, number string, records ...string) *amane.Case {
		return &amane.Case{Type: typ, Number: number, Records: records, Opened: "2026-11-23T09:00:00Z", OpenedBy: "account/1", Origin: "guichet"}
	}
	ids := func(cs []amane.Case) []int64 {
		out := []int64{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		bad := &amane.Case{Type: "enquete", Number: "DOS-26/1", Records: []string{"employee/01", "AB123456"},
			Staff: []string{"root"}, Team: "casa", Opened: "yesterday", OpenedBy: "nobody", Origin: "Fatima Alaoui"}
		_, err := s.CreateCase(ctx, bad)
		code(t, err, amane.EINVALID)
		var fields []string
		var ae *amane.Error
		if errors.As(err, &ae) {
			for _, f := range ae.Fields {
				fields = append(fields, f.Field+": "+f.Rule)
			}
		}
		for _, want := range []string{"type", "number", "records", "staff", "team", "opened", "opened_by", "origin"} {
			if !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, want+": ") }) {
				t.Errorf("CreateCase of a bad case: no error on %s (%v)", want, fields)
			}
		}
		// No value typed comes back: not the CIN-like record, not the name given as origin.
		if msg := amane.ErrorMessage(err) + strings.Join(fields, ""); strings.Contains(msg, "AB123456") || strings.Contains(msg, "Alaoui") {
			t.Errorf("the error echoes a value: %v", err)
		}
		// A number of another type's prefix.
		_, err = s.CreateCase(ctx, newCase(amane.CaseControl, "DOS-2026/0001", "employer/1"))
		code(t, err, amane.EINVALID)
	})

	a, err := s.CreateCase(ctx, newCase(amane.CaseRequest, "PRE-2026/0001", "employee/7", "employee/7", "employer/3"))
	code(t, err, "")
	b, err := s.CreateCase(ctx, newCase(amane.CaseComplaint, "REC-2026/0002", "employer/3"))
	code(t, err, "")
	c, err := s.CreateCase(ctx, newCase(amane.CaseControl, "CTL-2026/0003", "employee/7"))
	code(t, err, "")
	if !(a < b && b < c) {
		t.Fatalf("case ids %d, %d, %d do not increase", a, b, c)
	}

	t.Run("ErrConflictNumber", func(t *testing.T) {
		_, err := s.CreateCase(ctx, newCase(amane.CaseRequest, "PRE-2026/0001", "employee/8"))
		code(t, err, amane.ECONFLICT)
	})
	t.Run("ByIDAndNumber", func(t *testing.T) {
		got, err := s.CaseByID(ctx, a)
		code(t, err, "")
		want := amane.Case{ID: a, Type: amane.CaseRequest, Number: "PRE-2026/0001", Records: []string{"employee/7", "employer/3"},
			Opened: "2026-11-23T09:00:00Z", OpenedBy: "account/1", Origin: "guichet"}
		if got.ID != want.ID || got.Type != want.Type || got.Number != want.Number || !slices.Equal(got.Records, want.Records) ||
			len(got.Staff) != 0 || got.Team != "" || got.Opened != want.Opened || got.OpenedBy != want.OpenedBy || got.Origin != want.Origin || !got.Open() {
			t.Fatalf("CaseByID: %+v, want %+v", got, want)
		}
		byNum, err := s.CaseByNumber(ctx, "REC-2026/0002")
		code(t, err, "")
		if byNum.ID != b {
			t.Fatalf("CaseByNumber: %+v", byNum)
		}
		_, err = s.CaseByID(ctx, c+100)
		code(t, err, amane.ENOTFOUND)
		_, err = s.CaseByNumber(ctx, "PRE-2026/9999")
		code(t, err, amane.ENOTFOUND)
	})

	t.Run("AssignAndAddRecord", func(t *testing.T) {
		code(t, s.AssignCase(ctx, a, []string{"account/2", "account/3"}, ""), "")
		code(t, s.AssignCase(ctx, a, []string{"account/2"}, "CASA-ANFA"), "") // again: no duplicate
		code(t, s.AssignCase(ctx, b, nil, "RABAT-AGDAL"), "")
		code(t, s.AssignCase(ctx, c, []string{"token/4"}, ""), "")
		code(t, s.AssignCase(ctx, a, nil, ""), amane.EINVALID)
		code(t, s.AssignCase(ctx, a, []string{"Fatima"}, ""), amane.EINVALID)
		code(t, s.AssignCase(ctx, c+100, []string{"account/2"}, ""), amane.ENOTFOUND)
		code(t, s.AddCaseRecord(ctx, b, "employee/9"), "")
		code(t, s.AddCaseRecord(ctx, b, "employee/9"), "")
		code(t, s.AddCaseRecord(ctx, b, "AB123456"), amane.EINVALID)
		code(t, s.AddCaseRecord(ctx, c+100, "employee/9"), amane.ENOTFOUND)
		got, err := s.CaseByID(ctx, a)
		code(t, err, "")
		if !slices.Equal(got.Staff, []string{"account/2", "account/3"}) || got.Team != "CASA-ANFA" {
			t.Fatalf("after AssignCase: %+v", got)
		}
		got, _ = s.CaseByID(ctx, b)
		if !slices.Equal(got.Records, []string{"employee/9", "employer/3"}) || got.Team != "RABAT-AGDAL" {
			t.Fatalf("after AddCaseRecord: %+v", got)
		}
	})

	t.Run("OpenCases", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    amane.CaseFilter
			want []int64
		}{
			{"All", amane.CaseFilter{}, []int64{a, b, c}},
			{"Principal", amane.CaseFilter{Principal: "account/3"}, []int64{a}},
			{"Team", amane.CaseFilter{Team: "RABAT-AGDAL"}, []int64{b}},
			{"PrincipalOrTeam", amane.CaseFilter{Principal: "token/4", Team: "CASA-ANFA"}, []int64{a, c}},
			{"Record", amane.CaseFilter{Record: "employee/7"}, []int64{a, c}},
			{"PrincipalAndRecord", amane.CaseFilter{Principal: "account/2", Record: "employee/7"}, []int64{a}},
			{"NotConcerning", amane.CaseFilter{Principal: "account/2", Record: "employee/9"}, []int64{}},
			{"TeamOfAnother", amane.CaseFilter{Team: "CASA-ANFA", Record: "employee/9"}, []int64{}},
			{"NobodyAssigned", amane.CaseFilter{Principal: "account/99"}, []int64{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.OpenCases(ctx, tc.f, 0)
				code(t, err, "")
				if !slices.Equal(ids(got), tc.want) {
					t.Fatalf("OpenCases(%+v): %v, want %v", tc.f, ids(got), tc.want)
				}
			})
		}
		got, err := s.OpenCases(ctx, amane.CaseFilter{}, 2)
		code(t, err, "")
		if !slices.Equal(ids(got), []int64{a, b}) {
			t.Fatalf("OpenCases limit 2: %v", ids(got))
		}
	})

	t.Run("Close", func(t *testing.T) {
		code(t, s.CloseCase(ctx, a, "account/9", "2026-11-24T10:00:00Z"), "")
		code(t, s.CloseCase(ctx, a, "account/9", "2026-11-24T11:00:00Z"), amane.ECONFLICT)
		code(t, s.CloseCase(ctx, c+100, "account/9", "2026-11-24T11:00:00Z"), amane.ENOTFOUND)
		code(t, s.CloseCase(ctx, b, "Fatima Alaoui", "2026-11-24T11:00:00Z"), amane.EINVALID)
		code(t, s.CloseCase(ctx, b, "account/9", "demain"), amane.EINVALID)
		// A closed case gains no staff and no record: what is closed binds no read.
		code(t, s.AssignCase(ctx, a, []string{"account/5"}, ""), amane.ECONFLICT)
		code(t, s.AddCaseRecord(ctx, a, "employee/5"), amane.ECONFLICT)
		got, err := s.CaseByID(ctx, a)
		code(t, err, "")
		if got.Open() || got.Closed != "2026-11-24T10:00:00Z" || got.ClosedBy != "account/9" || slices.Contains(got.Staff, "account/5") {
			t.Fatalf("after CloseCase: %+v", got)
		}
		open, err := s.OpenCases(ctx, amane.CaseFilter{Principal: "account/2", Record: "employee/7"}, 0)
		code(t, err, "")
		if len(open) != 0 {
			t.Fatalf("a closed case is still open: %v", ids(open))
		}
	})
}
