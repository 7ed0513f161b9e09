package declblob_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"amane"
	"amane/internal/declblob"
)

func sampleLine() amane.DeclarationLine {
	return amane.DeclarationLine{Imm: "123456789", Surname: "EL IDRISSI", FirstName: "SAID", Children: 3, AFToPay: 90000, AFToDeduct: 30000,
		AFNet: 60000, AFToReturn: 0, Days: 26, Salary: 812345, Capped: 600000, Situation: "IL"}
}

func sampleNew() amane.NewEmployeeLine {
	return amane.NewEmployeeLine{Imm: "000000000", Surname: "NOUVEAU", FirstName: "YOUNES", CIN: "K998877", Days: 10, Salary: 150000, Capped: 150000}
}

func blobOf(es ...declblob.Entry) []byte {
	b := []byte{declblob.Version}
	for _, e := range es {
		b = declblob.Append(b, e)
	}
	return b
}

func TestBlob(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// The bytes the package doc specifies, written out: version, then tag, kind, subject 300
		// (uvarint ac 02), length 2, the sealed bytes; then a B04 entry under request 1 with nothing sealed.
		es := []declblob.Entry{{Tag: declblob.TagLine, Kind: amane.KeyHistory, Subject: 300, Sealed: []byte("ab")},
			{Tag: declblob.TagNew, Kind: amane.KeyRequest, Subject: 1, Sealed: []byte{}}}
		b := blobOf(es...)
		want := "01" + "01" + "03" + "ac02" + "02" + "6162" + "02" + hex.EncodeToString([]byte{amane.KeyRequest}) + "01" + "00"
		if got := hex.EncodeToString(b); got != want {
			t.Fatalf("blob %s, want %s", got, want)
		}
		got, err := declblob.Parse(b)
		if err != nil || !equalEntries(got, es) {
			t.Fatalf("Parse = %+v, %v", got, err)
		}
	})
	t.Run("OKNoLines", func(t *testing.T) {
		got, err := declblob.Parse([]byte{declblob.Version})
		if err != nil || len(got) != 0 {
			t.Fatalf("Parse(01) = %+v, %v", got, err)
		}
	})
	good := blobOf(declblob.Entry{Tag: declblob.TagLine, Kind: amane.KeyHistory, Subject: 7, Sealed: []byte{0xaa, 0xbb}})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"ErrEmpty", nil},
		{"ErrVersion", []byte{0x02, 1, 3, 7, 0}},
		{"ErrHalfHeader", []byte{declblob.Version, 1}},
		{"ErrNoSubject", []byte{declblob.Version, 1, 3}},
		{"ErrSubjectCut", []byte{declblob.Version, 1, 3, 0x80}},
		{"ErrNoLength", []byte{declblob.Version, 1, 3, 7}},
		{"ErrLengthPastEnd", good[:len(good)-1]},
		{"ErrHugeLength", []byte{declblob.Version, 1, 3, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"ErrVarintOverflow", []byte{declblob.Version, 1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if es, err := declblob.Parse(tc.b); !errors.Is(err, declblob.ErrBlob) || es != nil {
				t.Fatalf("Parse(%x) = %+v, %v", tc.b, es, err)
			}
		})
	}
}

func TestLine(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		l := sampleLine()
		b := declblob.AppendLine(nil, &l)
		got, err := declblob.ParseLine(b)
		if err != nil || got != l {
			t.Fatalf("line: %+v, %v", got, err)
		}
		n := sampleNew()
		gotN, err := declblob.ParseNew(declblob.AppendNew(nil, &n))
		if err != nil || gotN != n {
			t.Fatalf("new employee: %+v, %v", gotN, err)
		}
	})
	t.Run("OKBytes", func(t *testing.T) {
		// The format byte by byte: 01, four strings (length, bytes), eight zig-zag varints.
		l := amane.DeclarationLine{Imm: "1", Surname: "A", Children: 1, AFToReturn: -1, Days: 64, Salary: 300}
		want := "01" + "0131" + "0141" + "00" + "00" + "02" + "00" + "00" + "00" + "01" + "8001" + "d804" + "00"
		if got := hex.EncodeToString(declblob.AppendLine(nil, &l)); got != want {
			t.Fatalf("line %s, want %s", got, want)
		}
		n := amane.NewEmployeeLine{CIN: "K1", Days: 1, Salary: -2, Capped: 3}
		want = "01" + "00" + "00" + "00" + "024b31" + "02" + "03" + "06"
		if got := hex.EncodeToString(declblob.AppendNew(nil, &n)); got != want {
			t.Fatalf("new %s, want %s", got, want)
		}
	})
	t.Run("OKFileLineNotStored", func(t *testing.T) {
		l := sampleLine()
		l.Line = 42
		got, err := declblob.ParseLine(declblob.AppendLine(nil, &l))
		if err != nil || got.Line != 0 {
			t.Fatalf("line number %d, %v", got.Line, err)
		}
	})
	l := sampleLine()
	b := declblob.AppendLine(nil, &l)
	n := sampleNew()
	bn := declblob.AppendNew(nil, &n)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"ErrEmpty", nil},
		{"ErrFormat", append([]byte{2}, b[1:]...)},
		{"ErrCut", b[:len(b)-1]},
		{"ErrTrailing", append(slices.Clone(b), 0)},
		{"ErrStringPastEnd", []byte{declblob.LineFormat, 0x09, '1'}},
		{"ErrNewAsLine", bn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := declblob.ParseLine(tc.b); !errors.Is(err, declblob.ErrLine) {
				t.Fatalf("ParseLine(%x): %v", tc.b, err)
			}
		})
	}
	t.Run("ErrNewCut", func(t *testing.T) {
		if _, err := declblob.ParseNew(bn[:len(bn)-1]); !errors.Is(err, declblob.ErrLine) {
			t.Fatalf("ParseNew: %v", err)
		}
	})
	t.Run("ErrLineAsNew", func(t *testing.T) {
		if _, err := declblob.ParseNew(b); !errors.Is(err, declblob.ErrLine) {
			t.Fatalf("ParseNew: %v", err)
		}
	})
}

func equalEntries(a, b []declblob.Entry) bool {
	return slices.EqualFunc(a, b, func(x, y declblob.Entry) bool {
		return x.Tag == y.Tag && x.Kind == y.Kind && x.Subject == y.Subject && bytes.Equal(x.Sealed, y.Sealed)
	})
}

// FuzzParse: Parse never panics; what it accepts encodes back to a blob that parses to the same
// entries; and an accepted blob with entries, cut by one byte, is refused.
func FuzzParse(f *testing.F) {
	f.Add([]byte{declblob.Version, declblob.TagLine, 3, 7, 2, 0xaa, 0xbb})
	f.Add([]byte{declblob.Version})
	f.Add(blobOf(declblob.Entry{Tag: declblob.TagLine, Kind: amane.KeyHistory, Subject: 1 << 40, Sealed: bytes.Repeat([]byte{1}, 200)},
		declblob.Entry{Tag: declblob.TagNew, Kind: amane.KeyRequest, Subject: 0, Sealed: nil}))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := declblob.Parse(b)
		if err != nil {
			if !errors.Is(err, declblob.ErrBlob) || es != nil {
				t.Fatalf("Parse(%x) = %+v, %v", b, es, err)
			}
			return
		}
		again, err := declblob.Parse(blobOf(es...))
		if err != nil || !equalEntries(again, es) {
			t.Fatalf("re-encoded %+v parses to %+v, %v", es, again, err)
		}
		if len(es) > 0 {
			if _, err := declblob.Parse(b[:len(b)-1]); err == nil {
				t.Fatalf("Parse(%x) without its last byte accepted", b)
			}
		}
	})
}

// FuzzEntryRoundTrip: Parse(Append(e)) == e for every entry.
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add(byte(declblob.TagLine), byte(amane.KeyHistory), int64(42), []byte("sealed"))
	f.Add(byte(0), byte(255), int64(-1), []byte{})
	f.Fuzz(func(t *testing.T, tag, kind byte, subject int64, sealed []byte) {
		e := declblob.Entry{Tag: tag, Kind: kind, Subject: subject, Sealed: sealed}
		got, err := declblob.Parse(blobOf(e, e))
		if err != nil || !equalEntries(got, []declblob.Entry{e, e}) {
			t.Fatalf("Parse(Append(%+v)) = %+v, %v", e, got, err)
		}
	})
}

// FuzzParseLine: the line decoders never panic; what they accept encodes back to the same values;
// an accepted plaintext with a byte more or a byte less is refused.
func FuzzParseLine(f *testing.F) {
	l, n := sampleLine(), sampleNew()
	f.Add(declblob.AppendLine(nil, &l))
	f.Add(declblob.AppendNew(nil, &n))
	f.Add(declblob.AppendLine(nil, &amane.DeclarationLine{Imm: "123456789", Days: 26, Salary: 1}))
	f.Add(declblob.AppendNew(nil, &amane.NewEmployeeLine{Imm: "999999999", CIN: "AB1"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := declblob.ParseLine(b); err == nil {
			if again, err := declblob.ParseLine(declblob.AppendLine(nil, &l)); err != nil || again != l {
				t.Fatalf("line round trip: %+v → %+v, %v", l, again, err)
			}
			if _, err := declblob.ParseLine(append(slices.Clone(b), 0)); err == nil {
				t.Fatalf("line %x with a byte more accepted", b)
			}
			if _, err := declblob.ParseLine(b[:len(b)-1]); err == nil {
				t.Fatalf("line %x with a byte less accepted", b)
			}
		} else if !errors.Is(err, declblob.ErrLine) {
			t.Fatalf("ParseLine: %v", err)
		}
		if n, err := declblob.ParseNew(b); err == nil {
			if again, err := declblob.ParseNew(declblob.AppendNew(nil, &n)); err != nil || again != n {
				t.Fatalf("new employee round trip: %+v → %+v, %v", n, again, err)
			}
			if _, err := declblob.ParseNew(b[:len(b)-1]); err == nil {
				t.Fatalf("new employee %x with a byte less accepted", b)
			}
		} else if !errors.Is(err, declblob.ErrLine) {
			t.Fatalf("ParseNew: %v", err)
		}
	})
}

// FuzzLineRoundTrip: ParseLine(AppendLine(l)) == l and ParseNew(AppendNew(n)) == n for any values
// (the file line number aside, which is not stored).
func FuzzLineRoundTrip(f *testing.F) {
	f.Add("123456789", "EL IDRISSI", "SAÏD", "IL", 3, int64(90000), int64(30000), int64(60000), int64(0), 26, int64(812345), int64(600000))
	f.Add("", "", "", "", -1, int64(-1), int64(1<<62), int64(-1<<63), int64(1<<63-1), 0, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, imm, surname, first, other string, children int, a, b, c, d int64, days int, salary, capped int64) {
		l := amane.DeclarationLine{Imm: imm, Surname: surname, FirstName: first, Situation: other, Children: children,
			AFToPay: a, AFToDeduct: b, AFNet: c, AFToReturn: d, Days: days, Salary: salary, Capped: capped}
		if got, err := declblob.ParseLine(declblob.AppendLine(nil, &l)); err != nil || got != l {
			t.Fatalf("line: %+v → %+v, %v", l, got, err)
		}
		n := amane.NewEmployeeLine{Imm: imm, Surname: surname, FirstName: first, CIN: other, Days: days, Salary: salary, Capped: capped}
		if got, err := declblob.ParseNew(declblob.AppendNew(nil, &n)); err != nil || got != n {
			t.Fatalf("new employee: %+v → %+v, %v", n, got, err)
		}
	})
}
