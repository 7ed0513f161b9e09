package gate_test

import (
	"testing"

	"amane/amanetest"
)

func BenchmarkSealEmployee(b *testing.B) {
	r := amanetest.Open(b)
	e := Employee("123456789", "AB123456", "El Idrissi", "Saïd", "1234567")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Gate.SealEmployee(int64(i+1), e); err != nil {
			b.Fatal(err)
		}
	}
}
