package journal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A checkpoint's body follows the C2SP tlog-checkpoint layout (c2sp.org/tlog-checkpoint), not
// tlog.FormatTree, whose first line is fixed to "go.sum database tree":
//
//	<origin>
//	<tree size, decimal>
//	<root hash, base64>
//
// signed as a note (c2sp.org/signed-note) by the journal's Ed25519 key. The origin is the key's
// name, "amane.example/journal" by default (DefaultOrigin).

// DefaultOrigin is the origin line, and the key name, of a journal's checkpoints.
const DefaultOrigin = "amane.example/journal"

// Tree is a checkpoint's content: the tree of Size entries has root Hash.
type Tree struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// FormatCheckpoint returns the checkpoint body.
func FormatCheckpoint(t Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", t.Origin, t.Size, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// ParseCheckpoint parses a checkpoint body; lines after the third (extensions) are ignored.
func ParseCheckpoint(text []byte) (Tree, error) {
	var t Tree
	if !bytes.HasSuffix(text, []byte("\n")) {
		return t, errors.New("journal: malformed checkpoint: no final newline")
	}
	lines := strings.SplitN(string(text), "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return t, errors.New("journal: malformed checkpoint: expected origin, size and hash lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return t, errors.New("journal: malformed checkpoint: bad tree size")
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return t, errors.New("journal: malformed checkpoint: bad root hash")
	}
	t.Origin, t.Size = lines[0], n
	copy(t.Hash[:], h)
	return t, nil
}

// SignCheckpoint signs a checkpoint of the tree with signer (whose name is the origin).
func SignCheckpoint(signer note.Signer, size int64, root tlog.Hash) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(FormatCheckpoint(Tree{Origin: signer.Name(), Size: size, Hash: root}))}, signer)
}

// OpenCheckpoint checks a signed checkpoint's signature by verifier and its origin (the verifier's
// name), and returns its tree.
func OpenCheckpoint(signed []byte, verifier note.Verifier) (Tree, error) {
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return Tree{}, fmt.Errorf("journal: checkpoint signature: %w", err)
	}
	t, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Tree{}, err
	}
	if t.Origin != verifier.Name() {
		return Tree{}, fmt.Errorf("journal: checkpoint origin %q is not the verifier's %q", t.Origin, verifier.Name())
	}
	return t, nil
}

// SplitWitness splits a witness file (signed notes one after another, each followed by a blank line)
// into its notes.
func SplitWitness(b []byte) ([][]byte, error) {
	var out [][]byte
	parts := bytes.Split(b, []byte("\n\n"))
	// Each note is body "\n\n" signatures "\n", then the separating "\n": parts alternate body,
	// signatures, and end with an empty remainder.
	if len(parts) > 0 && len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1]
	}
	if len(parts)%2 != 0 {
		return nil, errors.New("journal: witness file: a note is cut short (truncated file?)")
	}
	for i := 0; i < len(parts); i += 2 {
		n := make([]byte, 0, len(parts[i])+len(parts[i+1])+3)
		n = append(n, parts[i]...)
		n = append(n, "\n\n"...)
		n = append(n, parts[i+1]...)
		n = append(n, '\n')
		out = append(out, n)
	}
	return out, nil
}
