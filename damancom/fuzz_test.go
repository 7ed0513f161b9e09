package damancom_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"amane/damancom"
)

func declarationSeeds(t testing.TB) []string {
	D := encodeDeclaration(t, baseDeclaration())
	return []string{
		D,
		encodeDeclaration(t, sampleDeclaration(4, 0, true)),
		encodeDeclaration(t, sampleDeclaration(2, 0, false)),
		strings.ReplaceAll(D, "\n", "\r\n"),
		strings.TrimSuffix(D, "\n"),
		bump(D, 6, 125, 144),
		set(D, 3, 26, 27, "é"),
		set(D, 3, 26, 27, "\xe9"),
		set(D, 4, 259, 260, ""),
		swapLines(D, 9, 10),
		set(D, 8, 93, 95, "05"),
		"",
	}
}

func preetabliSeeds(t testing.TB) []string {
	P := encodePreetabli(t, samplePreetabli(3))
	return []string{
		P,
		encodePreetabli(t, samplePreetabli(0)),
		strings.ReplaceAll(P, "\n", "\r\n"),
		bump(P, 6, 64, 79),
		set(P, 3, 26, 27, "s"),
		deleteLine(P, 6),
		"",
	}
}

// FuzzDecodeDeclaration: decoding never panics; a decoded declaration encodes, decodes back to itself,
// and, when every input line had its line end, encodes to the input bytes.
func FuzzDecodeDeclaration(f *testing.F) {
	for _, s := range declarationSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := damancom.DecodeDeclaration(bytes.NewReader(data))
		if err != nil {
			checkReport(t, err, d == nil)
			return
		}
		var b bytes.Buffer
		if err := d.Encode(&b); err != nil {
			t.Fatalf("Encode of a decoded declaration: %v", err)
		}
		if bytes.HasSuffix(data, []byte("\n")) && !bytes.Equal(b.Bytes(), data) {
			t.Fatalf("Encode(Decode(data)) differs from data:\n%q\n%q", data, b.Bytes())
		}
		again, err := damancom.DecodeDeclaration(&b)
		if err != nil {
			t.Fatalf("Decode(Encode(d)): %v", err)
		}
		if !reflect.DeepEqual(again, d) {
			t.Fatalf("Decode(Encode(d)) differs from d")
		}
	})
}

// FuzzDecodePreetabli is FuzzDecodeDeclaration for the préétabli.
func FuzzDecodePreetabli(f *testing.F) {
	for _, s := range preetabliSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := damancom.DecodePreetabli(bytes.NewReader(data))
		if err != nil {
			checkReport(t, err, p == nil)
			return
		}
		var b bytes.Buffer
		if err := p.Encode(&b); err != nil {
			t.Fatalf("Encode of a decoded préétabli: %v", err)
		}
		if bytes.HasSuffix(data, []byte("\n")) && !bytes.Equal(b.Bytes(), data) {
			t.Fatalf("Encode(Decode(data)) differs from data:\n%q\n%q", data, b.Bytes())
		}
		again, err := damancom.DecodePreetabli(&b)
		if err != nil {
			t.Fatalf("Decode(Encode(p)): %v", err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("Decode(Encode(p)) differs from p")
		}
	})
}

// checkReport: a failed decode returns a nil value and a non-empty, sorted *Report.
func checkReport(t *testing.T, err error, nilValue bool) {
	t.Helper()
	var rep *damancom.Report
	if !errors.As(err, &rep) || len(rep.Problems) == 0 {
		t.Fatalf("error %v, want a non-empty *Report", err)
	}
	if !nilValue {
		t.Fatal("a value with a report")
	}
	for i := 1; i < len(rep.Problems); i++ {
		if rep.Problems[i].Line < rep.Problems[i-1].Line {
			t.Fatalf("problems not sorted by line:\n%s", rep.Text())
		}
	}
	for _, p := range rep.Problems {
		if p.Field == "" || p.Rule == "" {
			t.Fatalf("problem without field or rule: %+v", p)
		}
	}
}
