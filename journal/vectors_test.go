package journal_test

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"amane/journal"
)

// TestEntryVectorV1 pins the journal entry's canonical encoding and its leaf hash
// (testdata/entry-v1.txt: the encoding on its first line, the RFC 6962 leaf hash SHA-256(0x00 ‖
// entry) in hex on the second). Every deployed journal's tree is built over these bytes: a renamed
// JSON key, a reordered field or a changed omitempty would pass every round trip and make every
// stored proof and checkpoint unverifiable; this test fails instead.
func TestEntryVectorV1(t *testing.T) {
	b, err := os.ReadFile("testdata/entry-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("testdata/entry-v1.txt: %d lines, want the entry and its leaf hash", len(lines))
	}
	e := journal.Entry{Time: "2026-03-02T09:15:04.123Z", Principal: "account/12", Role: "agent", Scope: "CASA-ANFA",
		Action: "reveal", Record: "employee/42", Fields: []string{"immatriculation", "nom", "prenom", "cin"},
		Purpose: "dossier", Reference: "DOS-2026/0142", Outcome: journal.Allowed, Reason: "agency", RequestID: "r-7f3a"}
	got, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != lines[0] {
		t.Errorf("the entry encodes as\n%s\nthe v1 vector is\n%s", got, lines[0])
	}
	if h := tlog.RecordHash([]byte(lines[0])); hex.EncodeToString(h[:]) != lines[1] {
		t.Errorf("leaf hash %x, the v1 vector is %s", h, lines[1])
	}
	d, err := journal.DecodeEntry([]byte(lines[0]))
	if err != nil || d.Record != e.Record || d.Reference != e.Reference || len(d.Fields) != 4 {
		t.Errorf("the v1 entry decodes to %+v, %v", d, err)
	}
	if r := journal.RecordOf([]byte(lines[0])); r != "employee/42" {
		t.Errorf("RecordOf the v1 entry: %q", r)
	}
}
