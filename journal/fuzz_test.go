package journal_test

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"amane/journal"
)

// FuzzCheckProof: CheckProof parses untrusted JSON; it must never panic, and must refuse anything
// that is not a valid proof under the key.
func FuzzCheckProof(f *testing.F) {
	b := openSQLite(f)
	_, _, v, _ := fill(f, b, 130)
	ctx := context.Background()
	for _, i := range []int64{0, 7, 129} {
		p, err := journal.ProveInclusion(ctx, b.st, i)
		if err != nil {
			f.Fatal(err)
		}
		data, _ := json.Marshal(p)
		f.Add(data)
	}
	c, err := journal.ProveConsistency(ctx, b.st, 100, 130)
	if err != nil {
		f.Fatal(err)
	}
	data, _ := json.Marshal(c)
	f.Add(data)
	f.Add([]byte(`{"type":"amane-journal-inclusion-v1","index":-1,"size":0}`))
	f.Add([]byte(`{"type":"amane-journal-consistency-v1","old":"","new":"","proof":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		journal.CheckProof(data, v)
	})
}

// BenchmarkAppend appends from parallel goroutines through group commit and reports entries/s and
// each caller's latency (median and 99th percentile).
func BenchmarkAppend(b *testing.B) {
	for _, kind := range []struct {
		name string
		open func(testing.TB) *backend
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		b.Run(kind.name, func(b *testing.B) {
			be := kind.open(b)
			s, v := keys(b)
			ctx := context.Background()
			j, err := journal.Open(ctx, be.st, s, v, "")
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 16 × GOMAXPROCS callers, as a busy gate would have
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				i := 0
				for pb.Next() {
					t0 := time.Now()
					if _, err := j.Append(ctx, entry(i)); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
					i++
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			el := time.Since(start)
			b.StopTimer()
			sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/el.Seconds(), "entries/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// FuzzRecordOf: RecordOf scans bytes instead of decoding them (Verify calls it on every entry). For
// every entry Encode writes, whatever its fields hold (quotes, backslashes, the word "record", a
// key-like `"record":"` in another field), it must equal the entry's Record; on any bytes, it must not
// panic, and where the bytes are Encode's own output, agree with DecodeEntry.
func FuzzRecordOf(f *testing.F) {
	f.Add("employee/42", "dossier", "agency", []byte(`{"time":"t","principal":"p","role":"r","action":"read","record":"employee/1","outcome":"allowed"}`))
	f.Add("", `"record":"employee/9"`, `x","record":"employee/9`, []byte(`{"record":"a","record":"b"}`))
	f.Add(`employee/"1\`, "record", `\"record\":\"`, []byte(`{"record":"a\"b"}`))
	f.Add("employee/é", "", "", []byte(`{"record":5}`))
	f.Fuzz(func(t *testing.T, record, purpose, reason string, raw []byte) {
		e := journal.Entry{Time: "2026-01-02T03:04:05.000Z", Principal: purpose, Role: "agent", Action: "read", Record: record,
			Fields: []string{reason}, Purpose: purpose, Reason: reason, Outcome: journal.Allowed}
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := journal.DecodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := journal.RecordOf(b); got != d.Record {
			t.Fatalf("RecordOf(%s) = %q, the entry's record is %q", b, got, d.Record)
		}
		got := journal.RecordOf(raw)
		if d, err := journal.DecodeEntry(raw); err == nil {
			if again, _ := d.Encode(); string(again) == string(raw) && got != d.Record {
				t.Fatalf("RecordOf(%s) = %q, decoded %q", raw, got, d.Record)
			}
		}
	})
}
