package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"amane/journal"
	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/sqlite"
)

const journalKillRounds = 4

// TestNoPlaintextWithoutJournalUnderSIGKILL: a real `amane serve` answers revealed reads (CINs in
// clear) from 8 connections and is SIGKILLed at a random moment, 4 times per store. Every response that
// reached the client with a person's data must have its journal entry (matched by request id) in the
// store after the kill: the gate appends, durably, before it releases plaintext. The journal must also
// still verify.
func TestNoPlaintextWithoutJournalUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("SIGKILL journal test: about 10 s per store; skipped with -short")
	}
	t.Parallel() // real processes and their own stores: it overlaps the other SIGKILL test
	bin := amaneBinary(t)
	env := []string{"AMANE_PASSPHRASE=" + durPassphrase}
	for _, kv := range osEnvironWithout("AMANE_") {
		env = append(env, kv)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); journalKill(t, newDurability(t, bin, env, seed, "")) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); journalKill(t, newDurability(t, bin, env, seed+1, pgtest.URL(t))) })
}

func journalKill(t *testing.T, d *durability) {
	d.prepare()
	people := d.chunks[0].people[:0]
	for _, p := range d.must {
		people = append(people, p)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	served := 0
	for round := 1; round <= journalKillRounds && !t.Failed(); round++ {
		srv, url := d.serve()
		var mu sync.Mutex
		var ids []string // request ids of responses that carried plaintext
		stop, cut := make(chan struct{}), &atomic.Bool{}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; ; i += 8 {
					select {
					case <-stop:
						return
					default:
					}
					p := people[(i*7919+round)%len(people)]
					var b [16]byte
					rand.Read(b[:])
					rid := hex.EncodeToString(b[:])
					req, _ := http.NewRequest("GET", url+"/api/v1/employees/"+p.Imm, nil)
					apiHeaders(req, d.token)
					req.Header.Set("X-Request-Id", rid)
					resp, err := client.Do(req)
					if err != nil {
						if !cut.Load() {
							t.Errorf("GET before the cut: %v", err)
						}
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						if !cut.Load() {
							t.Errorf("GET %d: %s", resp.StatusCode, body)
						}
						continue
					}
					var got durGot
					if json.Unmarshal(body, &got) == nil && got.CIN == p.CIN { // plaintext reached the client
						if resp.Header.Get("X-Request-Id") != rid {
							t.Errorf("the server did not keep the request id: %q", resp.Header.Get("X-Request-Id"))
						}
						mu.Lock()
						ids = append(ids, rid)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(100+d.rng.IntN(500)) * time.Millisecond)
		cut.Store(true)
		srv.cmd.Process.Kill()
		<-srv.done
		close(stop)
		wg.Wait()
		client.CloseIdleConnections()

		journaled := journalRequestIDs(t, d)
		missing := 0
		for _, id := range ids {
			if !journaled[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("round %d: %d of %d responses with plaintext have no journal entry", round, missing, len(ids))
		}
		served += len(ids)
		code, out, errOut := d.exec("journal", "verify", "--data", d.dir)
		if code != 0 {
			t.Errorf("round %d: journal verify after the kill: exit %d\n%s%s", round, code, out, errOut)
		}
	}
	t.Logf("%d rounds, %d plaintext responses served and checked against the journal", journalKillRounds, served)
	if served == 0 {
		t.Fatal("no response reached the client: the test proved nothing")
	}
}

// journalRequestIDs reads the store's journal directly and returns the request ids of allowed entries.
func journalRequestIDs(t *testing.T, d *durability) map[string]bool {
	t.Helper()
	ctx := context.Background()
	var st dataStore
	var err error
	if d.pg != "" {
		st, err = postgres.Open(ctx, d.pg)
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(d.dir, dbFile))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	js := st
	n, err := js.JournalSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := js.JournalEntries(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, b := range raw {
		e, err := journal.DecodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if e.Outcome == journal.Allowed && e.RequestID != "" {
			out[e.RequestID] = true
		}
	}
	return out
}

// osEnvironWithout returns the environment without the variables whose names start with prefix.
func osEnvironWithout(prefix string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
