package postgres_test

import (
	"context"
	"testing"

	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/storetest"
)

// BenchmarkPutDeclarations writes batches of 1,000 declarations of 4 lines each (a 600-byte sealed
// blob), as the gate's writer does; FirstMonth adds a new history key per line (every person declared
// for the first time), LaterMonth none.
//
//	AMANE_TEST_POSTGRES=postgres://… go test ./postgres/ -run '^$' -bench PutDeclarations -benchtime 50x
func BenchmarkPutDeclarations(b *testing.B) {
	for _, keys := range []int{4, 0} {
		name := "FirstMonth"
		if keys == 0 {
			name = "LaterMonth"
		}
		b.Run(name, func(b *testing.B) { storetest.BenchPutDeclarations(b, openBench(b), keys) })
	}
}

// BenchmarkDeclarationPeople asks for the people of 1,000 employers at a time, out of 20,000.
func BenchmarkDeclarationPeople(b *testing.B) {
	storetest.BenchDeclarationPeople(b, openBench(b), 20000)
}

func openBench(b *testing.B) *postgres.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
