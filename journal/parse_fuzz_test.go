package journal_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"amane/journal"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// FuzzDecodeEntry: DecodeEntry reads stored bytes, which a tampered store may have changed. It must
// not panic; it refuses bytes that are not JSON; an entry it returns encodes canonically (Encode of
// its decoding gives the same bytes again) and decodes back to itself.
func FuzzDecodeEntry(f *testing.F) {
	vector, err := os.ReadFile("testdata/entry-v1.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.SplitN(vector, []byte("\n"), 2)[0])
	f.Add([]byte(`{"time":"2026-01-02T03:04:05.000Z","principal":"system","role":"system","action":"load","outcome":"allowed"}`))
	f.Add([]byte(`{"time":"t","principal":"p","role":"r","action":"read","record":"employee/1","fields":[],"outcome":"denied","reason":"scope"}`))
	f.Add([]byte(`{"fields":"not a list"}`))
	f.Add([]byte(`{"time":"\ud800","record":"a\u0000b"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"time":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := journal.DecodeEntry(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("DecodeEntry accepted bytes that are not JSON: %q", b)
		}
		enc, err := e.Encode()
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		d, err := journal.DecodeEntry(enc)
		if err != nil {
			t.Fatalf("Encode's output does not decode: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(normalize(d), normalize(e)) {
			t.Fatalf("round trip: %+v, then %+v", e, d)
		}
		if again, _ := d.Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("Encode is not canonical:\n%s\n%s", enc, again)
		}
	})
}

// normalize makes an empty Fields nil: omitempty writes neither, so they are the same entry.
func normalize(e *journal.Entry) *journal.Entry {
	c := *e
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	return &c
}

// FuzzParseCheckpoint: a checkpoint body comes from the store and the witness file. ParseCheckpoint
// must not panic; it refuses a body without its final newline; a body it accepts starts with the
// FormatCheckpoint of its tree (extension lines may follow), which parses to the same tree.
func FuzzParseCheckpoint(f *testing.F) {
	root := tlog.RecordHash([]byte("an entry"))
	f.Add(journal.FormatCheckpoint(journal.Tree{Origin: journal.DefaultOrigin, Size: 1, Hash: root}))
	f.Add(journal.FormatCheckpoint(journal.Tree{Origin: "amane.example/journal", Size: 0}))
	f.Add(append(journal.FormatCheckpoint(journal.Tree{Origin: "o", Size: 1 << 40, Hash: root}), "— extension\n"...))
	f.Add([]byte("o\n01\nAAAA\n"))
	f.Add([]byte("o\n-1\n\n"))
	f.Add([]byte("o\n5\n" + strings.Repeat("A", 43) + "=\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		tree, err := journal.ParseCheckpoint(text)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(text, []byte("\n")) || tree.Origin == "" || tree.Size < 0 {
			t.Fatalf("accepted %q as %+v", text, tree)
		}
		body := journal.FormatCheckpoint(tree)
		if !bytes.HasPrefix(text, body) {
			t.Fatalf("accepted %q, which does not start with its own formatting %q", text, body)
		}
		if again, err := journal.ParseCheckpoint(body); err != nil || again != tree {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}

// FuzzOpenCheckpoint: a signed checkpoint (a note) read back from a witness file. OpenCheckpoint must
// not panic, and must accept only a note signed by the journal's key whose body names its origin; what
// it accepts is a tree whose signed checkpoint, made again, opens to the same tree.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, err := note.GenerateKey(rand.Reader, journal.DefaultOrigin)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		f.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	for _, size := range []int64{0, 1, 130} {
		signed, err := journal.SignCheckpoint(signer, size, tlog.RecordHash([]byte{byte(size)}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
	}
	other, _, _ := note.GenerateKey(rand.Reader, "other.example/journal")
	otherSigner, _ := note.NewSigner(other)
	signed, _ := journal.SignCheckpoint(otherSigner, 3, tlog.Hash{})
	f.Add(signed)
	f.Add([]byte("amane.example/journal\n1\nAAAA\n\n— amane.example/journal AAAA\n"))
	f.Fuzz(func(t *testing.T, signed []byte) {
		tree, err := journal.OpenCheckpoint(signed, verifier)
		if err != nil {
			return
		}
		if tree.Origin != verifier.Name() {
			t.Fatalf("accepted a checkpoint of origin %q", tree.Origin)
		}
		again, err := journal.SignCheckpoint(signer, tree.Size, tree.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := journal.OpenCheckpoint(again, verifier); err != nil || got != tree {
			t.Fatalf("round trip: %+v, %v; want %+v", got, err, tree)
		}
	})
}
