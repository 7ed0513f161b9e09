package journal_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
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

// TestCheckpointVectorV1 pins a signed checkpoint (testdata/checkpoint-v1.txt: the signer key on its
// first line, the verifier key on its second, then the signed note): the C2SP tlog-checkpoint body
// (origin, tree size, base64 root hash) of the tree of two entries, each entry-v1.txt's (RFC 6962 root
// SHA-256(0x01 ‖ leaf ‖ leaf), whose base64 holds '+' and '/'), signed as a C2SP signed
// note by a fixed Ed25519 test key. Ed25519 is deterministic, so the journal's signature is compared
// byte for byte, and the note is also recomputed with crypto/ed25519 alone:
//
//	body ‖ "\n" ‖ "— " ‖ name ‖ " " ‖ base64(key hash ‖ Ed25519(seed, body)) ‖ "\n"
//	key hash = SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4]
//
// Every witness file and stored checkpoint holds these bytes.
func TestCheckpointVectorV1(t *testing.T) {
	b, err := os.ReadFile("testdata/checkpoint-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	skey, rest, _ := strings.Cut(string(b), "\n")
	vkey, signed, _ := strings.Cut(rest, "\n")
	entry, err := os.ReadFile("testdata/entry-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	leaf := tlog.RecordHash([]byte(strings.SplitN(string(entry), "\n", 2)[0]))
	root := tlog.NodeHash(leaf, leaf)
	if sum := sha256.Sum256(append(append([]byte{1}, leaf[:]...), leaf[:]...)); sum != root {
		t.Fatalf("RFC 6962 root of two leaves: %x, tlog gives %x", sum, root)
	}

	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if signer.Name() != journal.DefaultOrigin {
		t.Errorf("the v1 key is named %q, the journal's origin is %q", signer.Name(), journal.DefaultOrigin)
	}
	got, err := journal.SignCheckpoint(signer, 2, root)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != signed {
		t.Errorf("the checkpoint signs as\n%s\nthe v1 vector is\n%s", got, signed)
	}
	tree, err := journal.OpenCheckpoint([]byte(signed), verifier)
	if err != nil || tree.Size != 2 || tree.Hash != root || tree.Origin != journal.DefaultOrigin {
		t.Errorf("the v1 checkpoint opens to %+v, %v", tree, err)
	}
	if notes, err := journal.SplitWitness([]byte(signed + "\n" + signed + "\n")); err != nil || len(notes) != 2 || string(notes[1]) != signed {
		t.Errorf("a witness file of the v1 checkpoint twice splits into %d notes, %v", len(notes), err)
	}

	// The documented formats, recomputed.
	body := journal.DefaultOrigin + "\n2\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
	if string(journal.FormatCheckpoint(journal.Tree{Origin: journal.DefaultOrigin, Size: 2, Hash: root})) != body {
		t.Errorf("the checkpoint body is not %q", body)
	}
	seed, err := base64.StdEncoding.DecodeString(skey[strings.LastIndexByte(skey, '+')+1:])
	if err != nil || len(seed) != 33 || seed[0] != 1 {
		t.Fatalf("signer key: %v", err)
	}
	priv := ed25519.NewKeyFromSeed(seed[1:])
	pub := priv.Public().(ed25519.PublicKey)
	kh := sha256.Sum256(append([]byte(journal.DefaultOrigin+"\n\x01"), pub...))
	sig := append(kh[:4:4], ed25519.Sign(priv, []byte(body))...)
	if want := body + "\n\u2014 " + journal.DefaultOrigin + " " + base64.StdEncoding.EncodeToString(sig) + "\n"; want != signed {
		t.Errorf("the documented format gives\n%s\nthe v1 vector is\n%s", want, signed)
	}
}
