package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"filippo.io/age"
)

// fuzzBody is a valid backup plaintext without its trailer: a header and one row of several kinds.
var fuzzBody = strings.Join([]string{
	`{"format":"amane-backup/v1","created":"2026-11-23T10:00:00Z","source":"sqlite"}`,
	`{"agency":{"code":"CASA-ANFA","name":"Casablanca Anfa","city":"Casablanca"}}`,
	`{"employer":{"ID":3,"affiliation":"1234567","Key":{"Version":1,"Blob":"AAECAw=="}}}`,
	`{"employee":{"ID":7,"ImmIndex":"AAECAwQFBgcICQoLDA0ODw==","Key":{"Version":1,"Blob":"AAECAw=="}}}`,
	`{"employment":{"employee_id":7,"employer_id":3,"since":"2025-01-15","etat":"validee"}}`,
	`{"setting":{"name":"index_key_version","value":"1"}}`,
	`{"journal":{"kind":"entry","index":0,"entry":"AQI=","record":"employee/7"}}`,
	`{"journal":{"kind":"hash","index":0,"hash":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}}`,
	`{"journal":{"kind":"checkpoint","size":1,"signed":"AQI="}}`,
}, "\n") + "\n"

// withTrailer appends to body the trailer that matches it: the count of each kind of the lines after
// the first that decode as rows, and the SHA-256 of body.
func withTrailer(body []byte) []byte {
	rows := newRows()
	lines := bytes.SplitAfter(body, []byte("\n"))
	for _, l := range lines[1:] {
		var r row
		if decode(l, &r) != nil {
			continue
		}
		if k, err := r.kind(); err == nil {
			rows[k]++
		}
	}
	h := sha256.Sum256(body)
	tr, _ := json.Marshal(trailer{End: true, Rows: rows, SHA256: hex.EncodeToString(h[:])})
	return append(bytes.Clone(body), append(tr, '\n')...)
}

// FuzzVerify feeds the backup reader arbitrary plaintext, sealed in a real age file: header and rows
// as given, then the fuzzed trailer or (trail) one that matches the body, so that the rows' checks are
// reached. It must not panic; its errors say "backup:" and a line, never a field's content; a backup
// it accepts counts as many rows as lines between header and trailer and hashes the bytes before
// the trailer.
func FuzzVerify(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(fuzzBody), true)
	f.Add(withTrailer([]byte(fuzzBody)), false)
	f.Add([]byte(strings.SplitAfter(fuzzBody, "\n")[0]), true)
	f.Add([]byte(strings.Replace(fuzzBody, `"employer_id":3`, `"employer_id":4`, 1)), true) // refers to no employer
	f.Add([]byte(strings.Replace(fuzzBody, `"index":0,"hash"`, `"index":-1,"hash"`, 1)), true)
	f.Add([]byte(`{"format":"amane-backup/v2","created":"x","source":""}`+"\n"), true)
	f.Add([]byte(fuzzBody+`{"end":true,"rows":{"agency":1},"sha256":"00"}`+"\n"), false)
	f.Fuzz(func(t *testing.T, plain []byte, trail bool) {
		if trail {
			plain = withTrailer(plain)
		}
		var file bytes.Buffer
		w, err := age.Encrypt(&file, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sum, err := Verify(&file, []age.Identity{id})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "backup: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		end := bytes.LastIndex(plain[:len(plain)-1], []byte("\n")) + 1 // the trailer is the last line
		h := sha256.Sum256(plain[:end])
		if sum.SHA256 != hex.EncodeToString(h[:]) {
			t.Fatalf("accepted with hash %s, the body hashes to %x", sum.SHA256, h)
		}
		if lines := int64(bytes.Count(plain, []byte("\n"))); sum.Total() != lines-2 {
			t.Fatalf("accepted %d rows in %d lines", sum.Total(), lines)
		}
	})
}

// TestFuzzSeedsVerify: the seed body with its trailer is a valid backup (so the fuzz target starts from
// one), and Verify reads it back with the counts it wrote.
func TestFuzzSeedsVerify(t *testing.T) {
	id := newIdentity(t)
	file := seal(t, []string{string(withTrailer([]byte(fuzzBody)))}, id)
	sum, err := Verify(bytes.NewReader(file), ids(id))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total() != 8 || sum.Rows[KindJournal] != 3 || sum.Rows[KindEmployee] != 1 || sum.KeyVersions[1] != 2 {
		t.Fatalf("summary %+v", sum)
	}
}
