// Package journal is the access journal: every decision of the gate appended to a tamper-evident log,
// a Merkle tree hashed as in RFC 6962 (golang.org/x/mod/sumdb/tlog), whose heads are signed as
// checkpoints in the C2SP signed-note format (golang.org/x/mod/sumdb/note, Ed25519).
//
// An entry is stored as the exact bytes that are hashed: its canonical encoding (Entry.Encode,
// json.Marshal of amane.AccessEvent: fields in declaration order, compact, no HTML escaping
// surprises since no field holds markup; testdata/entry-v1.txt pins it). The store keeps the
// entries, the tree's stored hashes (tlog's layout) and the signed checkpoints; the journal never
// reads the hashes back to trust them: Verify recomputes the tree from the entries. A witness file outside the store receives every checkpoint too, so that a store rolled
// back or rewritten with its hashes is still caught.
//
// The journal package imports nothing from the stores (both implement Store), only the domain's
// access event.
package journal

import (
	"bytes"
	"encoding/json"
	"time"

	"amane"
)

// Entry is one access decision: the registry's one access event (amane.AccessEvent), whose
// canonical encoding (its Encode method) is what the journal stores and hashes. It never carries
// personal data: Record is an internal reference ("employee/42"), never an identifier such as a CIN
// or an immatriculation.
type Entry = amane.AccessEvent

// Outcomes (amane.OutcomeAllowed, amane.OutcomeDenied).
const (
	Allowed = amane.OutcomeAllowed
	Denied  = amane.OutcomeDenied
)

// FormatTime is the entry time format: RFC 3339 in UTC with milliseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// DecodeEntry parses stored entry bytes.
func DecodeEntry(b []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// RecordOf is the record reference of stored entry bytes: the column the stores index them by. Bytes
// that do not decode as an entry have none.
//
// Verify calls it on every entry, so the common case is a byte scan, not a decode (a decode costs
// several times the entry's tree hashes): the one "record" key of Encode's output, a string without
// escapes. A JSON string cannot hold the bytes `"record":"` (its quotes are escaped), so the key
// found is the object's. Anything else (no such key but the word, a second one, escapes) is decoded.
// For bytes Encode wrote, it is exactly the decoded entry's Record (FuzzRecordOf); for bytes it did
// not write (tampered: their tree hash tells), what the scan finds.
func RecordOf(b []byte) string {
	i := bytes.Index(b, recordKey)
	if i < 0 {
		if !bytes.Contains(b, recordName) {
			return ""
		}
		return decodedRecord(b)
	}
	rest := b[i+len(recordKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 || bytes.Contains(rest[j:], recordName) {
		return decodedRecord(b)
	}
	return string(rest[:j])
}

var (
	recordKey  = []byte(`"record":"`)
	recordName = []byte(`"record"`)
)

func decodedRecord(b []byte) string {
	e, err := DecodeEntry(b)
	if err != nil {
		return ""
	}
	return e.Record
}
