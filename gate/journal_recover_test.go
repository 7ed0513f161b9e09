package gate_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/journal"

	"github.com/jackc/pgx/v5"
)

// TestGateSurvivesTerminatedConnections, the failure on PostgreSQL: while agents read, every
// connection the registry holds is terminated by the database (pg_terminate_backend, as a failover or
// an administrator does). Before, the journal latched "state unknown after a failed append…; reopen
// the journal" and every gated request failed until a restart. Now a request in flight may fail (the
// connection it was using is gone), the journal learns the store's tree at its next append, and the
// requests after succeed; the journal verifies intact (no gap, no entry lost from the tree).
func TestGateSurvivesTerminatedConnections(t *testing.T) {
	r := amanetest.OpenPostgres(t)
	f := fixtureOf(r)
	f.seed(t)
	agent := amanetest.As(&amane.Principal{ID: "account/5", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
	read := func() error {
		_, err := f.gate.Employee(agent, "123456789")
		return err
	}
	for range 5 {
		if err := read(); err != nil {
			t.Fatal(err)
		}
	}
	terminate := func() int {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, r.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Under requests: four agents read without pause while the connections are terminated twice.
	var failed, served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := read(); err != nil {
					failed.Add(1)
				} else {
					served.Add(1)
				}
			}
		})
	}
	killed := 0
	for range 2 {
		for at := served.Load(); served.Load() < at+20; { // some requests in between
			if failed.Load() > 1000 {
				break
			}
			runtime.Gosched()
		}
		killed += terminate()
	}
	close(stop)
	wg.Wait()
	t.Logf("%d connections terminated under load: %d requests served, %d failed", killed, served.Load(), failed.Load())
	if killed == 0 {
		t.Fatal("no connection was terminated")
	}

	// Once more, idle: then the requests that follow succeed after at most a short transient error,
	// one per dead connection at most.
	killed = terminate()
	errs := 0
	for range 30 {
		if read() != nil {
			errs++
		}
	}
	tail := 0
	for range 20 {
		if err := read(); err != nil {
			t.Fatalf("a request failed long after the connections were terminated: %v", err)
		}
		tail++
	}
	t.Logf("idle: %d connections terminated, then %d of 30 requests failed, the next %d served", killed, errs, tail)
	if errs > 8 {
		t.Fatalf("%d requests failed after the connections were terminated", errs)
	}
	if err := r.Journal.Health(context.Background()); err != nil {
		t.Fatalf("journal health: %v", err)
	}
	if _, err := r.Journal.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, verifier, err := journal.LoadKeys(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := journal.Verify(context.Background(), r.Store, verifier)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	t.Logf("journal: %d entries, intact", rep.Size)
}
