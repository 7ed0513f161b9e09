package journal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a tree hash, base64 in JSON.
type Hash tlog.Hash

func (h Hash) MarshalText() ([]byte, error) {
	return []byte(base64.StdEncoding.EncodeToString(h[:])), nil
}

func (h *Hash) UnmarshalText(b []byte) error {
	d, err := base64.StdEncoding.Strict().DecodeString(string(b))
	if err != nil || len(d) != tlog.HashSize {
		return errors.New("journal: a hash must be 32 bytes in base64")
	}
	copy(h[:], d)
	return nil
}

func hashes(p []tlog.Hash) []Hash {
	out := make([]Hash, len(p))
	for i, h := range p {
		out[i] = Hash(h)
	}
	return out
}

func tlogHashes(p []Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

// Proof types, the "type" of a proof file.
const (
	InclusionType   = "amane-journal-inclusion-v1"
	ConsistencyType = "amane-journal-consistency-v1"
)

// InclusionProof shows that Entry is at Index in the tree signed by Checkpoint. It is checked offline
// with the journal's verifier key (CheckProof).
type InclusionProof struct {
	Type       string `json:"type"` // InclusionType
	Index      int64  `json:"index"`
	Size       int64  `json:"size"`
	Entry      []byte `json:"entry"` // the stored entry bytes (base64): exactly what is hashed
	LeafHash   Hash   `json:"leaf_hash"`
	Proof      []Hash `json:"proof"`
	Checkpoint string `json:"checkpoint"` // the signed note
}

// ConsistencyProof shows that the tree signed by New extends the tree signed by Old.
type ConsistencyProof struct {
	Type  string `json:"type"` // ConsistencyType
	Old   string `json:"old"`  // signed checkpoint
	New   string `json:"new"`  // signed checkpoint
	Proof []Hash `json:"proof"`
}

// ProveInclusion proves entry index against the latest stored checkpoint that covers it.
func ProveInclusion(ctx context.Context, st Store, index int64) (*InclusionProof, error) {
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 || cps[len(cps)-1].Size <= index || index < 0 {
		return nil, fmt.Errorf("journal: no checkpoint covers entry %d yet", index)
	}
	cp := cps[len(cps)-1]
	es, err := st.JournalEntries(ctx, index, index+1)
	if err != nil {
		return nil, err
	}
	if len(es) != 1 || es[0] == nil {
		return nil, fmt.Errorf("journal: entry %d is missing", index)
	}
	p, err := tlog.ProveRecord(cp.Size, index, hashReader(ctx, st))
	if err != nil {
		return nil, err
	}
	return &InclusionProof{Type: InclusionType, Index: index, Size: cp.Size, Entry: es[0],
		LeafHash: Hash(tlog.RecordHash(es[0])), Proof: hashes(p), Checkpoint: string(cp.Signed)}, nil
}

// ProveConsistency proves that the stored checkpoint at newSize extends the one at oldSize.
func ProveConsistency(ctx context.Context, st Store, oldSize, newSize int64) (*ConsistencyProof, error) {
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	var old, cur []byte
	for _, cp := range cps {
		switch cp.Size {
		case oldSize:
			old = cp.Signed
		case newSize:
			cur = cp.Signed
		}
	}
	if old == nil || cur == nil || oldSize < 1 || oldSize > newSize {
		return nil, fmt.Errorf("journal: no stored checkpoints at sizes %d and %d", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, hashReader(ctx, st))
	if err != nil {
		return nil, err
	}
	return &ConsistencyProof{Type: ConsistencyType, Old: string(old), New: string(cur), Proof: hashes(p)}, nil
}

// maxProof bounds a proof's hashes: a tree of 2^63 entries needs under 2×63.
const maxProof = 128

// CheckProof checks a proof file (an InclusionProof or a ConsistencyProof as JSON) offline: the
// checkpoints' signatures by verifier, then the Merkle proof. It needs no store.
func CheckProof(data []byte, verifier note.Verifier) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("journal: proof: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	switch head.Type {
	case InclusionType:
		var p InclusionProof
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("journal: proof: %w", err)
		}
		return p.Check(verifier)
	case ConsistencyType:
		var p ConsistencyProof
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("journal: proof: %w", err)
		}
		return p.Check(verifier)
	}
	return fmt.Errorf("journal: proof: unknown type %q", head.Type)
}

// Check checks the proof offline.
func (p *InclusionProof) Check(verifier note.Verifier) error {
	t, err := OpenCheckpoint([]byte(p.Checkpoint), verifier)
	if err != nil {
		return err
	}
	if t.Size != p.Size {
		return fmt.Errorf("journal: proof: size %d, but the checkpoint signs size %d", p.Size, t.Size)
	}
	if p.Index < 0 || p.Index >= p.Size {
		return fmt.Errorf("journal: proof: index %d is outside the tree of size %d", p.Index, p.Size)
	}
	if len(p.Proof) > maxProof {
		return errors.New("journal: proof: too many hashes")
	}
	if tlog.RecordHash(p.Entry) != tlog.Hash(p.LeafHash) {
		return errors.New("journal: proof: the entry does not match its leaf hash (the entry was altered)")
	}
	if err := tlog.CheckRecord(tlogHashes(p.Proof), t.Size, t.Hash, p.Index, tlog.Hash(p.LeafHash)); err != nil {
		return fmt.Errorf("journal: proof: entry %d is not proved in the signed tree of size %d: %w", p.Index, t.Size, err)
	}
	return nil
}

// Check checks the proof offline.
func (p *ConsistencyProof) Check(verifier note.Verifier) error {
	old, err := OpenCheckpoint([]byte(p.Old), verifier)
	if err != nil {
		return fmt.Errorf("old %w", err)
	}
	cur, err := OpenCheckpoint([]byte(p.New), verifier)
	if err != nil {
		return fmt.Errorf("new %w", err)
	}
	if old.Size < 1 || old.Size > cur.Size {
		return fmt.Errorf("journal: proof: old size %d, new size %d", old.Size, cur.Size)
	}
	if len(p.Proof) > maxProof {
		return errors.New("journal: proof: too many hashes")
	}
	if err := tlog.CheckTree(tlogHashes(p.Proof), cur.Size, cur.Hash, old.Size, old.Hash); err != nil {
		return fmt.Errorf("journal: proof: the tree of size %d is not proved to extend the tree of size %d: %w", cur.Size, old.Size, err)
	}
	return nil
}
