package journal

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Report is what Verify found.
type Report struct {
	Size        int64    // entries in the store
	Checkpoints int      // signed checkpoints checked (store, and witness file if given)
	Signed      int64    // the largest size covered by a valid, matching checkpoint
	FirstBad    int64    // the first entry index found bad, -1 if none
	Problems    []string // what is wrong, lowest entry index first; empty when the journal is intact

	probs []indexed // Problems before finish: each with the entry index it names (-1: none)
}

type indexed struct {
	index int64
	text  string
}

// OK reports whether nothing was found wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Unsigned is the number of entries after the last valid checkpoint (not yet signed: normal for up
// to a second while the journal runs).
func (r *Report) Unsigned() int64 { return r.Size - r.Signed }

func (r *Report) bad(i int64, format string, args ...any) {
	if r.FirstBad < 0 || (i >= 0 && i < r.FirstBad) {
		r.FirstBad = i
	}
	r.probs = append(r.probs, indexed{i, fmt.Sprintf(format, args...)})
}

func (r *Report) problem(format string, args ...any) {
	r.probs = append(r.probs, indexed{-1, fmt.Sprintf(format, args...)})
}

// finish lists the problems: those naming no entry (bad signatures) first, then by entry index, so
// that the first line names the first bad entry (a deletion found at index 150 comes before the
// shortened journal's end it also causes), at most maxProblems of them.
func (r *Report) finish() *Report {
	const maxProblems = 20
	sort.SliceStable(r.probs, func(a, b int) bool { return r.probs[a].index < r.probs[b].index })
	r.Problems = r.Problems[:0]
	for i, p := range r.probs {
		if i == maxProblems {
			r.Problems = append(r.Problems, "… (more problems not listed)")
			break
		}
		r.Problems = append(r.Problems, p.text)
	}
	if len(r.Problems) == 0 {
		r.Problems = nil
	}
	return r
}

// verifyPage is how many entries Verify reads at a time.
const verifyPage = 10000

type target struct {
	what string
	tree Tree
}

// Verify recomputes the journal's tree from the stored entries (not from the stored hashes), checks
// every stored hash against it and every stored checkpoint's signature and root against the
// recomputed root at its size. An edited, deleted, reordered or inserted entry is reported with the
// first bad index. The error is for failures to read the store, not for what was found.
func Verify(ctx context.Context, st Store, verifier note.Verifier) (*Report, error) {
	r, err := verify(ctx, st, verifier, nil)
	if err != nil {
		return nil, err
	}
	return r.finish(), nil
}

// VerifyWitness is Verify with the checkpoints of a witness file too: each must be validly signed,
// match the tree recomputed from the store at its size, and be consistent with the one before it (a
// consistency proof from the store's hashes). A store rolled back or rewritten together with its own
// checkpoints is caught here.
func VerifyWitness(ctx context.Context, st Store, verifier note.Verifier, witness []byte) (*Report, error) {
	notes, err := SplitWitness(witness)
	var extra []target
	var trees []Tree
	var pre []string
	if err != nil {
		pre = append(pre, err.Error())
	}
	for i, n := range notes {
		t, err := OpenCheckpoint(n, verifier)
		if err != nil {
			pre = append(pre, fmt.Sprintf("witness checkpoint %d: %v", i+1, err))
			continue
		}
		if len(trees) > 0 && t.Size < trees[len(trees)-1].Size {
			pre = append(pre, fmt.Sprintf("witness checkpoint %d: size %d after size %d", i+1, t.Size, trees[len(trees)-1].Size))
			continue
		}
		trees = append(trees, t)
		extra = append(extra, target{what: fmt.Sprintf("witness checkpoint %d (size %d)", i+1, t.Size), tree: t})
	}
	r, err := verify(ctx, st, verifier, extra)
	if err != nil {
		return nil, err
	}
	first := make([]indexed, 0, len(pre)+len(r.probs)) // the witness file's own problems first
	for _, p := range pre {
		first = append(first, indexed{-1, p})
	}
	r.probs = append(first, r.probs...)
	for i := 1; i < len(trees); i++ {
		old, cur := trees[i-1], trees[i]
		if old.Size == 0 || old.Size == cur.Size {
			if old.Size == cur.Size && old.Hash != cur.Hash {
				r.problem("witness checkpoints %d and %d sign different trees of the same size %d", i, i+1, cur.Size)
			}
			continue
		}
		p, err := tlog.ProveTree(cur.Size, old.Size, hashReader(ctx, st))
		if err == nil {
			err = tlog.CheckTree(p, cur.Size, cur.Hash, old.Size, old.Hash)
		}
		if err != nil {
			r.problem("witness checkpoint %d (size %d) is not proved consistent with checkpoint %d (size %d) by the store: %v", i+1, cur.Size, i, old.Size, err)
		}
	}
	r.Checkpoints += len(notes)
	return r.finish(), nil
}

func verify(ctx context.Context, st Store, verifier note.Verifier, extra []target) (*Report, error) {
	r := &Report{FirstBad: -1}
	size, err := st.JournalSize(ctx)
	if err != nil {
		return nil, err
	}
	r.Size = size
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	r.Checkpoints = len(cps)
	targets := map[int64][]target{}
	var sizes []int64
	add := func(t target) {
		if len(targets[t.tree.Size]) == 0 {
			sizes = append(sizes, t.tree.Size)
		}
		targets[t.tree.Size] = append(targets[t.tree.Size], t)
	}
	for _, cp := range cps {
		t, err := OpenCheckpoint(cp.Signed, verifier)
		if err != nil {
			r.problem("stored checkpoint at size %d: %v", cp.Size, err)
			continue
		}
		if t.Size != cp.Size {
			r.problem("stored checkpoint at size %d signs size %d", cp.Size, t.Size)
			continue
		}
		add(target{what: fmt.Sprintf("stored checkpoint at size %d", t.Size), tree: t})
	}
	for _, t := range extra {
		add(t)
	}
	sort.Slice(sizes, func(a, b int) bool { return sizes[a] < sizes[b] })
	for _, s := range sizes {
		if s > size {
			for _, t := range targets[s] {
				r.bad(size, "%s is beyond the %d entries stored: entries from index %d were deleted (journal truncated or rolled back)", t.what, size, size)
			}
		}
	}

	front := &memHashes{m: map[int64]tlog.Hash{}}
	lastGood := int64(0)
	entryBad := int64(-1) // the first entry the scan itself found bad (not a checkpoint)
	entryIsBad := func(i int64, format string, args ...any) {
		if entryBad < 0 {
			entryBad = i
		}
		r.bad(i, format, args...)
	}
	hashesBad := false
	for from := int64(0); from < size; from += verifyPage {
		to := min(from+verifyPage, size)
		entries, err := st.JournalEntries(ctx, from, to)
		if err != nil {
			return nil, err
		}
		records, err := st.JournalRecords(ctx, from, to)
		if err != nil {
			return nil, err
		}
		if int64(len(entries)) != to-from || int64(len(records)) != to-from {
			return nil, fmt.Errorf("journal: the store returned %d entries and %d records for %d indexes", len(entries), len(records), to-from)
		}
		base := tlog.StoredHashIndex(0, from)
		idxs := make([]int64, tlog.StoredHashIndex(0, to)-base)
		for i := range idxs {
			idxs[i] = base + int64(i)
		}
		stored, err := st.JournalHashes(ctx, idxs)
		if err != nil {
			stored = nil // some are missing: read them entry by entry below, to name the first
		}
		for i, e := range entries {
			idx := from + int64(i)
			if e == nil {
				entryIsBad(idx, "entry %d is missing (deleted); the tree cannot be recomputed past it", idx)
				r.Signed = lastGood
				return r, nil
			}
			hs, err := tlog.StoredHashes(idx, e, front)
			if err != nil {
				return nil, err
			}
			h0 := tlog.StoredHashIndex(0, idx)
			mine := []tlog.Hash(nil)
			if stored != nil {
				mine = stored[h0-base : h0-base+int64(len(hs))]
			} else if !hashesBad {
				ix := make([]int64, len(hs))
				for k := range ix {
					ix[k] = h0 + int64(k)
				}
				if mine, err = st.JournalHashes(ctx, ix); err != nil {
					// Not the store's message: it names a stored-hash index, which is no entry.
					entryIsBad(idx, "the stored tree hashes of entry %d cannot be read (deleted?)", idx)
					hashesBad = true
				}
			}
			for k, h := range hs {
				front.m[h0+int64(k)] = h
				if mine == nil || hashesBad {
					continue
				}
				if mine[k] != h {
					hashesBad = true
					if k != 0 {
						entryIsBad(idx, "the stored tree hashes written with entry %d were altered", idx)
					} else if d := movedDown(ctx, st, idx, h); d > 0 {
						entryIsBad(idx, "entry %d is missing (deleted): the entries after it were moved down %d place(s) to close the gap (the entry now at %d was written at %d)", idx, d, idx, idx+d)
					} else {
						entryIsBad(idx, "entry %d does not match its stored leaf hash: it was edited, replaced, moved (reordered) or inserted", idx)
					}
				}
			}
			// The record column is what the access log finds a person's entries by; it is outside
			// the hashed bytes, so it is checked against them: rewritten, it would hide an entry
			// from one person's log and show it in another's.
			if records[i] != RecordOf(e) {
				entryIsBad(idx, "entry %d is filed under another record than the one it names (its record column was altered): the access log of the record it names misses it", idx)
			}
			n := idx + 1
			if ts := targets[n]; len(ts) > 0 {
				root, err := tlog.TreeHash(n, front)
				if err != nil {
					return nil, err
				}
				ok := true
				for _, t := range ts {
					if t.tree.Hash != root {
						ok = false
						if entryBad < 0 { // nothing more precise: the change is after the last good checkpoint
							r.bad(lastGood, "%s does not match the entries: an entry between index %d and %d was changed, removed or added", t.what, lastGood, n-1)
						} else {
							r.bad(entryBad, "%s does not match the entries", t.what)
						}
					}
				}
				if ok && entryBad < 0 {
					lastGood = n
				}
			}
			if n%1024 == 0 {
				front.keep(n)
			}
		}
	}
	r.Signed = lastGood
	return r, nil
}

// movedLookahead is how far Verify looks for an entry that was moved down to close a deletion's gap.
const movedLookahead = 16

// movedDown returns d > 0 when the entry at idx, whose leaf hash is leaf, is the one written at
// idx+d (its stored leaf hash is there): entries idx..idx+d-1 were deleted and the later ones
// renumbered. 0 when not found (an edit, an insertion, or a deletion further back).
func movedDown(ctx context.Context, st Store, idx int64, leaf tlog.Hash) int64 {
	ix := make([]int64, movedLookahead)
	for d := range ix {
		ix[d] = tlog.StoredHashIndex(0, idx+int64(d)+1)
	}
	for d, x := range ix { // one at a time: past the journal's end, the stored hashes are missing
		got, err := st.JournalHashes(ctx, []int64{x})
		if err != nil {
			return 0
		}
		if got[0] == leaf {
			return int64(d) + 1
		}
	}
	return 0
}
