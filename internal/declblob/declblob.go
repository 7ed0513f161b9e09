// Package declblob is the at-rest format of a declaration's lines: the blob stored as
// amane.DeclarationRecord.Lines, and inside it each line's plaintext before sealing. Package gate
// writes and reads it; nothing else should. Both formats are stored in every deployed registry and in
// its backups: a change of any byte below makes them unreadable, so it is a new version byte, never
// an edit.
//
// # The blob
//
//	blob  = 0x01 entry*                       version 1, then one entry per line in file order
//	entry = tag kind subject length sealed
//	tag     1 byte    1 (TagLine) = a B02 declared line, 2 (TagNew) = a B04 new employee
//	kind    1 byte    the kind of data key the line is sealed under (amane.KeyHistory = 3: a
//	                  person's history key; amane.KeyRequest: an immatriculation request's key)
//	subject uvarint   the key's subject: a person's or a request's internal id (encoding/binary
//	                  Uvarint: 7 bits a byte, least significant group first, high bit = more)
//	length  uvarint   the number of bytes of sealed
//	sealed  length    the line's plaintext (below) sealed under that key (vault.HistoryKey.Seal, an
//	                  AEAD bound to "declaration/<employer id>/<period>/<seq>#<entry index>")
//
// An empty blob, another version byte, an entry cut short or a length past the end is ErrBlob. A
// blob with no entry (just 0x01) is a declaration without lines. Subjects are internal ids: the
// store learns who is declared by which employer (it knows the employments already), never names,
// salaries or days.
//
// # A line's plaintext
//
//	line = 0x01 str(Imm) str(Surname) str(FirstName) str(Situation)
//	       int(Children) int(AFToPay) int(AFToDeduct) int(AFNet) int(AFToReturn)
//	       int(Days) int(Salary) int(Capped)                                  a B02 line (TagLine)
//	new  = 0x01 str(Imm) str(Surname) str(FirstName) str(CIN)
//	       int(Days) int(Salary) int(Capped)                                  a B04 line (TagNew)
//	str(s) = uvarint(len(s)) s                                                bytes as given (UTF-8)
//	int(v) = varint(v)                                                        encoding/binary Varint:
//	                                                                          zig-zag, then as uvarint
//
// Amounts are centimes. The file line number (Line) is not stored. Another first byte, a field cut
// short or bytes left after the last field is ErrLine. Hand-written over encoding/binary because
// encoding/json cost 12 % of a bulk load's CPU for the same bytes.
//
// Decoders accept what encoding/binary accepts, including a varint spelled with more bytes than it
// needs; the encoders always write the shortest one.
package declblob

import (
	"encoding/binary"
	"errors"

	"amane"
)

// Version is the first byte of a blob.
const Version = 0x01

// Tags of an entry.
const (
	TagLine = 1 // a B02 declared line: LineFormat with AppendLine
	TagNew  = 2 // a B04 new employee: LineFormat with AppendNew
)

// LineFormat is the first byte of a line's plaintext.
const LineFormat = 1

// ErrBlob is the integrity error of a blob that does not parse.
var ErrBlob = errors.New("integrity: a declaration's sealed lines are malformed")

// ErrLine is the integrity error of a line's plaintext that does not parse.
var ErrLine = errors.New("integrity: a declared line's plaintext is malformed")

// Entry is one sealed line of a blob.
type Entry struct {
	Tag     byte  // TagLine or TagNew (Parse does not check it: the reader of the plaintext does)
	Kind    byte  // the kind of key: amane.KeyHistory or amane.KeyRequest
	Subject int64 // the key's subject, an internal id
	Sealed  []byte
}

// Append appends e's encoding to blob, which starts with Version.
func Append(blob []byte, e Entry) []byte {
	blob = append(blob, e.Tag, e.Kind)
	blob = binary.AppendUvarint(blob, uint64(e.Subject))
	blob = binary.AppendUvarint(blob, uint64(len(e.Sealed)))
	return append(blob, e.Sealed...)
}

// Parse reads a blob's entries. Their Sealed slices share b's memory.
func Parse(b []byte) ([]Entry, error) {
	if len(b) == 0 || b[0] != Version {
		return nil, ErrBlob
	}
	b = b[1:]
	var out []Entry
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, ErrBlob
		}
		e := Entry{Tag: b[0], Kind: b[1]}
		b = b[2:]
		subj, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, ErrBlob
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return nil, ErrBlob
		}
		e.Subject, e.Sealed = int64(subj), b[n:n+int(size)]
		b = b[n+int(size):]
		out = append(out, e)
	}
	return out, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// AppendLine appends the plaintext of a B02 line to b.
func AppendLine(b []byte, l *amane.DeclarationLine) []byte {
	b = append(b, LineFormat)
	b = appendString(b, l.Imm)
	b = appendString(b, l.Surname)
	b = appendString(b, l.FirstName)
	b = appendString(b, l.Situation)
	for _, v := range [...]int64{int64(l.Children), l.AFToPay, l.AFToDeduct, l.AFNet, l.AFToReturn, int64(l.Days), l.Salary, l.Capped} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// AppendNew appends the plaintext of a B04 line to b.
func AppendNew(b []byte, n *amane.NewEmployeeLine) []byte {
	b = append(b, LineFormat)
	b = appendString(b, n.Imm)
	b = appendString(b, n.Surname)
	b = appendString(b, n.FirstName)
	b = appendString(b, n.CIN)
	for _, v := range [...]int64{int64(n.Days), n.Salary, n.Capped} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// lineReader reads the fields back, keeping the first error.
type lineReader struct {
	b   []byte
	err error
}

func (r *lineReader) str() string {
	n, k := binary.Uvarint(r.b)
	if r.err != nil || k <= 0 || uint64(len(r.b)-k) < n {
		r.err = ErrLine
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *lineReader) num() int64 {
	v, k := binary.Varint(r.b)
	if r.err != nil || k <= 0 {
		r.err = ErrLine
		return 0
	}
	r.b = r.b[k:]
	return v
}

func newLineReader(b []byte) *lineReader {
	if len(b) == 0 || b[0] != LineFormat {
		return &lineReader{err: ErrLine}
	}
	return &lineReader{b: b[1:]}
}

func (r *lineReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		return ErrLine
	}
	return r.err
}

// ParseLine reads the plaintext of a B02 line.
func ParseLine(b []byte) (amane.DeclarationLine, error) {
	r := newLineReader(b)
	l := amane.DeclarationLine{Imm: r.str(), Surname: r.str(), FirstName: r.str(), Situation: r.str()}
	l.Children = int(r.num())
	l.AFToPay, l.AFToDeduct, l.AFNet, l.AFToReturn = r.num(), r.num(), r.num(), r.num()
	l.Days = int(r.num())
	l.Salary, l.Capped = r.num(), r.num()
	return l, r.done()
}

// ParseNew reads the plaintext of a B04 line.
func ParseNew(b []byte) (amane.NewEmployeeLine, error) {
	r := newLineReader(b)
	n := amane.NewEmployeeLine{Imm: r.str(), Surname: r.str(), FirstName: r.str(), CIN: r.str()}
	n.Days = int(r.num())
	n.Salary, n.Capped = r.num(), r.num()
	return n, r.done()
}
