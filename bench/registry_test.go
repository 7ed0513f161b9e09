package bench_test

import (
	"context"
	"testing"

	"amane/bench"
)

// BenchmarkRegistry runs the registry benchmark at a small size; `amane-bench registry` runs it at
// the sizes docs/benchmarks.md records.
func BenchmarkRegistry(b *testing.B) {
	for i := 0; i < b.N; i++ {
		rep, err := bench.Registry(context.Background(), bench.RegistryConfig{Employees: 20000, Rounds: 1, Lookups: 5000}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rep.LoadRatio, "load-ratio")
		b.ReportMetric(rep.LookupRatio, "lookup-ratio")
		b.ReportMetric(rep.Encrypted.LookupCINP50us, "enc-p50-µs")
		b.ReportMetric(rep.PassThrough.LookupCINP50us, "plain-p50-µs")
	}
}

func TestRegistrySmall(t *testing.T) {
	rep, err := bench.Registry(context.Background(), bench.RegistryConfig{Employees: 2000, Rounds: 1, Lookups: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 2500 || rep.Encrypted.LoadRowsPerSec <= 0 || rep.PassThrough.LoadRowsPerSec <= 0 || rep.LoadRatio <= 0 || rep.Encrypted.LookupCINP50us <= 0 {
		t.Fatalf("report %+v", rep)
	}
	// The encrypted store must be the larger: it holds ciphertext, tags and wrapped keys.
	if rep.Encrypted.StoreBytes <= rep.PassThrough.StoreBytes {
		t.Fatalf("encrypted store %d bytes ≤ pass-through %d", rep.Encrypted.StoreBytes, rep.PassThrough.StoreBytes)
	}
}
