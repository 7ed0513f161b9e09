package load_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/gate"
	"amane/load"
	"amane/postgres/pgtest"
	"amane/synth"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type fixture struct {
	store amanetest.Store
	gate  *gate.Gate
	ctx   context.Context
	adh   []byte
	sal   []byte
}

func newFixture(t *testing.T, r *amanetest.Registry, employers, employees int) *fixture {
	t.Helper()
	var a, s bytes.Buffer
	if err := synth.Write(context.Background(), synth.Config{Employers: employers, Employees: employees, Seed: 42}, &a, &s, nil); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: r.Store, gate: r.Gate, ctx: amanetest.Context(amane.RoleSystem), adh: a.Bytes(), sal: s.Bytes()}
}

func (f *fixture) load(adh, sal []byte) (*load.Result, error) {
	var a, s *load.Source
	if adh != nil {
		a = &load.Source{Name: "ADHERENTS.csv", R: bytes.NewReader(adh)}
	}
	if sal != nil {
		s = &load.Source{Name: "SALARIES.csv", R: bytes.NewReader(sal)}
	}
	return load.Load(f.ctx, f.store, f.gate, a, s, load.Options{})
}

// cell returns line n (1-based) of a CSV file split into fields (the synthetic files quote only
// addresses, which hold commas; the tests edit other columns).
func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

// setField replaces column col (0-based, counted from the end when negative) of line n.
func setField(t *testing.T, b []byte, n, col int, v string) []byte {
	t.Helper()
	ls := lines(b)
	fs := strings.Split(ls[n-1], ",")
	if col < 0 {
		col += len(fs)
	}
	fs[col] = v
	ls[n-1] = strings.Join(fs, ",")
	return []byte(strings.Join(ls, "\n") + "\n")
}

// field returns column col of line n, like setField.
func field(t *testing.T, b []byte, n, col int) string {
	t.Helper()
	fs := strings.Split(lines(b)[n-1], ",")
	if col < 0 {
		col += len(fs)
	}
	return fs[col]
}

// flip changes a two-digit key into another.
func flip(key string) string {
	if key == "42" {
		return "43"
	}
	return "42"
}

func TestAffiliation8Digits(t *testing.T) {
	f := newFixture(t, amanetest.Open(t), 3, 0)
	_, err := f.load(setField(t, f.adh, 2, 0, "12345678"), nil)
	var ae *amane.Error
	if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != "affiliation" || ae.Fields[0].Line != 2 {
		t.Fatalf("got %#v", err)
	}
	if er, _ := count(t, f); er != 0 {
		t.Fatalf("%d employers written", er)
	}
}

func count(t *testing.T, f *fixture) (employers, employees int) {
	t.Helper()
	for _, l := range lines(f.adh)[1:] {
		if _, err := f.store.EmployerByAffiliation(context.Background(), strings.SplitN(l, ",", 2)[0]); err == nil {
			employers++
		}
	}
	for _, l := range lines(f.sal)[1:] {
		imm := strings.SplitN(l, ",", 2)[0]
		if _, err := f.gate.Employee(f.ctx, imm); err == nil {
			employees++
		}
	}
	return
}

func TestLoad(t *testing.T) { amanetest.Each(t, testLoad) }

func testLoad(t *testing.T, r *amanetest.Registry) {
	f := newFixture(t, r, 30, 300)
	res, err := f.load(f.adh, f.sal)
	if err != nil {
		t.Fatal(err)
	}
	if res.EmployersAdded != 30 || res.EmployeesAdded != 300 || res.EmploymentsAdded != 300 || res.Rows != 330 {
		t.Fatalf("result %+v", res)
	}
	if er, ee := count(t, f); er != 30 || ee != 300 {
		t.Fatalf("found %d employers, %d employees", er, ee)
	}
	t.Run("AgainChangesNothing", func(t *testing.T) {
		res, err := f.load(f.adh, f.sal)
		if err != nil {
			t.Fatal(err)
		}
		if res.EmployersAdded != 0 || res.EmployeesAdded != 0 || res.EmploymentsAdded != 0 || res.EmployersKept != 30 || res.EmployeesKept != 300 {
			t.Fatalf("second load: %+v", res)
		}
	})
	t.Run("SalariesAloneAgainstRegistry", func(t *testing.T) {
		if _, err := f.load(nil, f.sal); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBadRowsWriteNothing(t *testing.T) { amanetest.Each(t, testBadRowsWriteNothing) }

func testBadRowsWriteNothing(t *testing.T, r *amanetest.Registry) {
	f := newFixture(t, r, 20, 200)
	adh := setField(t, f.adh, 3, -17, "001561191000067") // ICE control digits wrong
	rib := field(t, f.adh, 5, -4)
	adh = setField(t, adh, 5, -4, rib[:22]+flip(rib[22:])) // RIB key wrong
	sal := setField(t, f.sal, 7, 1, "ABC1")                // CIN with 3 letters
	sal = setField(t, sal, 9, -2, "7777777")               // unknown employer
	sal = setField(t, sal, 9, -1, "peut-etre")             // bad state, same line
	_, err := f.load(adh, sal)
	var ae *amane.Error
	if !errors.As(err, &ae) || ae.Code != amane.EINVALID {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, fe := range ae.Fields {
		got = append(got, fmt.Sprintf("%s:%d:%s", fe.File, fe.Line, fe.Field))
	}
	want := []string{"ADHERENTS.csv:3:ice", "ADHERENTS.csv:5:rib", "SALARIES.csv:7:cin", "SALARIES.csv:9:etat_demande", "SALARIES.csv:9:affiliation_employeur"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems\n got %v\nwant %v", got, want)
	}
	if er, ee := count(t, f); er != 0 || ee != 0 {
		t.Fatalf("a refused load wrote %d employers and %d employees", er, ee)
	}
	for _, fe := range ae.Fields {
		if strings.Contains(fe.Rule, "ABC1") || strings.Contains(fe.Rule, rib[:22]) {
			t.Errorf("problem %v quotes the value", fe)
		}
	}
}

func TestDuplicates(t *testing.T) { amanetest.Each(t, testDuplicates) }

func testDuplicates(t *testing.T, r *amanetest.Registry) {
	f := newFixture(t, r, 5, 20)
	ls := lines(f.sal)
	t.Run("ErrSameImmSameEmployer", func(t *testing.T) {
		sal := []byte(strings.Join(append(ls, ls[1]), "\n") + "\n")
		_, err := f.load(f.adh, sal)
		var ae *amane.Error
		if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Line != len(ls)+1 || !strings.Contains(ae.Fields[0].Rule, "duplicate of line 2") {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("ErrSameCINOtherImm", func(t *testing.T) {
		sal := setField(t, f.sal, 3, 1, strings.Split(ls[1], ",")[1])
		_, err := f.load(f.adh, sal)
		var ae *amane.Error
		if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != "cin" || ae.Fields[0].Line != 3 {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("SecondEmployment", func(t *testing.T) {
		other := strings.Split(lines(f.adh)[2], ",")[0] // another employer's affiliation
		row := strings.Split(ls[1], ",")
		if row[len(row)-2] == other {
			t.Skip("synthetic row already at that employer")
		}
		row[len(row)-2] = other
		sal := []byte(strings.Join(append(ls, strings.Join(row, ",")), "\n") + "\n")
		res, err := f.load(f.adh, sal)
		if err != nil {
			t.Fatal(err)
		}
		if res.EmployeesAdded != 20 || res.EmploymentsAdded != 21 {
			t.Fatalf("result %+v", res)
		}
		e, err := f.gate.Employee(f.ctx, row[0])
		if err != nil || len(e.Employments) != 2 {
			t.Fatalf("employments: %+v %v", e, err)
		}
	})
}

func TestHeader(t *testing.T) {
	f := newFixture(t, amanetest.Open(t), 2, 2)
	_, err := f.load([]byte("affiliation,nom\n1234567,x\n"), nil)
	var ae *amane.Error
	if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != "header" || ae.Fields[0].Line != 1 {
		t.Fatalf("got %#v", err)
	}
}
