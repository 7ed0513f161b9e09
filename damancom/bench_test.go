package damancom_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"amane/damancom"
)

// BenchmarkDecodeDeclaration decodes a declaration of about 2,000 lines.
func BenchmarkDecodeDeclaration(b *testing.B) {
	file := encodeDeclaration(b, sampleDeclaration(1990, 4, false))
	nlines := strings.Count(file, "\n")
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := damancom.DecodeDeclaration(strings.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(nlines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkDecodeDeclarationBroken decodes the same file with a problem on every B02 line.
func BenchmarkDecodeDeclarationBroken(b *testing.B) {
	file := encodeDeclaration(b, sampleDeclaration(1990, 4, false))
	ls := lines(file)
	for i := 2; i < 1992; i++ {
		ls[i] = ls[i][:30] + "x" + ls[i][31:]
	}
	file = join(ls)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := damancom.DecodeDeclaration(strings.NewReader(file)); err == nil {
			b.Fatal("no report")
		}
	}
}

func BenchmarkEncodeDeclaration(b *testing.B) {
	d := sampleDeclaration(1990, 4, false)
	var buf bytes.Buffer
	if err := d.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
