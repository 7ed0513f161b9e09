package gate_test

import (
	"os"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestErase: after `amane erase`, the person is gone from every lookup and their key is destroyed,
// the other people of the same employer are intact, the headcount holds, and the erasure is recorded.
func TestErase(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := &fixture{gate: r.Gate, db: r.DBPath, ctx: amanetest.Context(amane.RoleOperator)}
		f.seed(t)
		sys := amanetest.Context(amane.RoleSystem)
		before, err := f.gate.Employee(f.ctx, "123456789")
		if err != nil {
			t.Fatal(err)
		}

		if _, err := f.gate.EraseEmployee(f.ctx, "123456789", "retention limit"); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("an operator erased: %v", err)
		}
		if _, err := f.gate.EraseEmployee(sys, "123456789", "  "); amane.ErrorCode(err) != amane.EINVALID {
			t.Fatalf("erasure without a reason: %v", err)
		}
		id, err := f.gate.EraseEmployee(sys, "123456789", "retention limit (law 09-08 art. 8)")
		if err != nil {
			t.Fatal(err)
		}
		if id != before.ID {
			t.Fatalf("erased id %d, want %d", id, before.ID)
		}
		if _, err := f.gate.Employee(f.ctx, "123456789"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("erased person still found by immatriculation: %v", err)
		}
		if list, _ := f.gate.EmployeesByCIN(f.ctx, "AB123456"); len(list) != 0 {
			t.Fatal("erased person still found by CIN")
		}
		if list, _ := f.gate.SearchEmployees(f.ctx, "idrissi", 10); len(list) != 0 {
			t.Fatal("erased person still found by name")
		}
		if list, _ := f.gate.SearchEmployees(f.ctx, "said", 10); len(list) != 1 || list[0].Surname != "Alaoui" {
			t.Fatalf("search for the others: %+v", list)
		}
		er, err := f.gate.Employer(f.ctx, "1234567")
		if err != nil {
			t.Fatal(err)
		}
		if len(er.Employees) != 3 {
			t.Fatalf("headcount after erasure = %d, want 3", len(er.Employees))
		}
		for _, e := range er.Employees {
			switch {
			case e.ID == id && (!e.Erased || e.Surname != "" || e.CIN != "" || e.Immatriculation != ""):
				t.Fatalf("erased person shows %+v", e)
			case e.ID != id && (e.Erased || e.Surname == "" || e.CIN == ""):
				t.Fatalf("another person was touched: %+v", e)
			}
		}
		// The data key is gone from the store: nothing left to unwrap.
		found := false
		r.Store.Dump(sys, func(it *amane.DumpItem) error {
			if it.Employee != nil && it.Employee.ID == id {
				found = true
				if it.Employee.Key.Blob != nil || len(it.Employee.Surname) != 0 || it.Employee.CINIndex != nil || len(it.Employee.NameIndex) != 0 {
					t.Errorf("erased record still holds key, ciphertext or indexes: %+v", it.Employee)
				}
			}
			return nil
		})
		if !found {
			t.Fatal("erased record missing from the dump: its id and employments must remain")
		}
		es, err := r.Store.Erasures(sys)
		if err != nil || len(es) != 1 || es[0].EmployeeID != id || es[0].By != "test:"+amane.RoleSystem || es[0].Reason != "retention limit (law 09-08 art. 8)" {
			t.Fatalf("erasure record: %+v %v", es, err)
		}
		if _, err := f.gate.EraseEmployee(sys, "123456789", "again"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("second erasure: %v", err)
		}
	})
}
