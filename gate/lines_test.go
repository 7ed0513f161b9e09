package gate

import (
	"testing"

	"amane"
)

func TestLineCodecRoundTrip(t *testing.T) {
	l := amane.DeclarationLine{Imm: "123456789", Surname: "EL IDRISSI", FirstName: "SAID", Children: 3, AFToPay: 90000, AFToDeduct: 30000,
		AFNet: 60000, AFToReturn: 0, Days: 26, Salary: 812345, Capped: 600000, Situation: "IL"}
	got, err := unmarshalLine(marshalLine(nil, &l))
	if err != nil || got != l {
		t.Fatalf("line: %+v, %v", got, err)
	}
	n := amane.NewEmployeeLine{Imm: "000000000", Surname: "NOUVEAU", FirstName: "YOUNES", CIN: "K998877", Days: 10, Salary: 150000, Capped: 150000}
	gotN, err := unmarshalNew(marshalNew(nil, &n))
	if err != nil || gotN != n {
		t.Fatalf("new employee: %+v, %v", gotN, err)
	}
	b := marshalLine(nil, &l)
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
		if _, err := unmarshalLine(bad); err == nil {
			t.Errorf("malformed %x accepted", bad)
		}
	}
}

// FuzzUnmarshalLine: the line decoder never panics, and what it accepts encodes back to the same bytes.
func FuzzUnmarshalLine(f *testing.F) {
	f.Add(marshalLine(nil, &amane.DeclarationLine{Imm: "123456789", Days: 26, Salary: 1}))
	f.Add(marshalNew(nil, &amane.NewEmployeeLine{Imm: "999999999", CIN: "AB1"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := unmarshalLine(b); err == nil {
			if again, err := unmarshalLine(marshalLine(nil, &l)); err != nil || again != l {
				t.Fatalf("line round trip: %+v → %+v, %v", l, again, err)
			}
		}
		if n, err := unmarshalNew(b); err == nil {
			if again, err := unmarshalNew(marshalNew(nil, &n)); err != nil || again != n {
				t.Fatalf("new employee round trip: %+v → %+v, %v", n, again, err)
			}
		}
	})
}

// FuzzParseBlob: a declaration's blob parser never panics on any input.
func FuzzParseBlob(f *testing.F) {
	f.Add([]byte{blobVersion, tagLine, 3, 7, 2, 0xaa, 0xbb})
	f.Fuzz(func(t *testing.T, b []byte) { parseBlob(b) })
}
