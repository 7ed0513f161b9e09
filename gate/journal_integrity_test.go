package gate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/journal"
	"amane/sqlite"
)

// execJournal runs q (written with $1, $2…) on the registry's journal tables, bypassing the gate: an
// attacker with write access to the database.
func execJournal(t *testing.T, r *amanetest.Registry, q string, args ...any) {
	t.Helper()
	tamperAt(t, r, "file:"+sqlite.JournalPath(r.DBPath)+"?_pragma=busy_timeout(10000)", func(exec func(string, ...any), _ func(string, ...any) []byte) {
		exec(q, args...)
	})
}

// TestAccessLogRecordColumnRewritten, the attack: an agent's read of one person is moved, by rewriting
// the journal's record column in the database, from that person's "who accessed my data" to another
// person's. Before, the victim's log lost the read, the other person's log showed the foreign entry,
// and journal verify said intact. Now the other person's log is refused (an integrity error,
// journaled), verify names the entry's index; the victim's log cannot see what is not filed under
// it (journal.ByRecord's documented limit): verify is what catches that half.
func TestAccessLogRecordColumnRewritten(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		rabat, casa := twoEmployers(t, f)
		agent := amanetest.As(&amane.Principal{ID: "account/5", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
		if _, err := f.gate.Employee(agent, "123456789"); err != nil {
			t.Fatal(err)
		}
		victim := amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "account/9", Role: amane.RoleInsured, EmployeeID: casa})
		other := amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "account/10", Role: amane.RoleInsured, EmployeeID: rabat})
		log, err := f.gate.AccessLog(victim, 0)
		if err != nil {
			t.Fatal(err)
		}
		read := int64(-1)
		for _, e := range log {
			if e.Principal == "account/5" {
				read = e.Index
			}
		}
		if read < 0 {
			t.Fatalf("the agent's read is not in the victim's log: %+v", log)
		}
		if _, err := r.Journal.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, verifier, err := journal.LoadKeys(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := journal.Verify(context.Background(), r.Store, verifier); err != nil || !rep.OK() {
			t.Fatalf("before: %+v %v", rep, err)
		}

		execJournal(t, r, `UPDATE journal_entries SET record = $1 WHERE idx = $2`, "employee/"+itoa(rabat), read)

		// The other person's log: never the foreign entry, an integrity error instead, journaled.
		got, err := f.gate.AccessLog(other, 0)
		for _, e := range got {
			if e.Record != "employee/"+itoa(rabat) {
				t.Fatalf("a foreign entry in the other person's log: %+v", e)
			}
		}
		if !errors.Is(err, journal.ErrIntegrity) || amane.ErrorCode(err) != amane.EINTERNAL {
			t.Fatalf("the other person's log after the rewrite: %d entries, %v", len(got), err)
		}
		if e := last(t, r, "account/10"); e.Outcome != journal.Denied || !strings.Contains(e.Reason, "journal integrity") {
			t.Fatalf("the refusal is not journaled: %+v", e)
		}
		// journal verify names the entry.
		rep, err := journal.Verify(context.Background(), r.Store, verifier)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.FirstBad != read || !strings.Contains(rep.Problems[0], "filed under another record") {
			t.Fatalf("verify after the rewrite: first bad %d (want %d): %v", rep.FirstBad, read, rep.Problems)
		}
		// The victim's log: the read is not filed under them any more, so it is not found (the limit);
		// nothing foreign shows.
		if log, err = f.gate.AccessLog(victim, 0); err != nil {
			t.Fatal(err)
		}
		for _, e := range log {
			if e.Index == read || e.Record != "employee/"+itoa(casa) {
				t.Fatalf("victim's log: %+v", e)
			}
		}
	})
}
