package attest_test

import (
	"bytes"
	"testing"
	"time"

	"amane/attest"
)

// FuzzVerify checks that Verify never panics and accepts no file but the genuine one: every byte
// outside the signature value is signed, and the signature value has one spelling. The inputs are
// 70 KB files: run it with -fuzzminimizetime 0, or every new input is minimized for a minute
// (byte by byte) before the next execution:
//
//	go test -run '^$' -fuzz FuzzVerify -fuzzminimizetime 0 -fuzztime 5m ./attest/
func FuzzVerify(f *testing.F) {
	pki := newPKI(f)
	doc := sampleDoc(attest.NewCode())
	unsigned := rendered(f, doc)
	at := time.Now()
	genuine := sign(f, pki, unsigned, at)
	now := at.Add(time.Minute)
	if r := attest.Verify(genuine, pki.trust, now); !r.Valid {
		f.Fatalf("genuine attestation rejected: %v", r.Reasons)
	}
	f.Add(genuine)
	f.Add(unsigned)
	for _, tc := range tamperedCopies(f, pki, doc, unsigned, genuine, at) {
		f.Add(tc.pdf)
	}
	f.Fuzz(func(t *testing.T, pdf []byte) {
		r := attest.Verify(pdf, pki.trust, now)
		if genuine := bytes.Equal(pdf, genuine); r.Valid != genuine {
			t.Fatalf("Valid = %v for the genuine file: %v; reasons %v", r.Valid, genuine, r.Reasons)
		}
		if r.Valid != (len(r.Reasons) == 0) {
			t.Fatalf("Valid = %v with reasons %v", r.Valid, r.Reasons)
		}
	})
}
