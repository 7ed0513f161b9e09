package journal

import (
	"context"
	"errors"
	"fmt"
)

// ErrIntegrity marks what the journal found inconsistent in its store (an entry filed under a record
// it does not name): the store was tampered with, and `amane journal verify` says where.
var ErrIntegrity = errors.New("journal: integrity")

// ByRecord returns the entries about record, oldest first, at most limit of them after index after
// (-1 for the start), each decoded from its hashed bytes: the store's record column only finds them.
// An entry filed under record that names another one (the column rewritten: a foreign entry shown in
// this record's access log, and missing from its own), or that does not decode, is an ErrIntegrity
// naming its index, never an entry shown or silently dropped.
//
// What ByRecord cannot see: an entry about record whose column was rewritten to something else is not
// found here at all. Only Verify, which reads every entry, names it; a person's access log is as
// complete as the last verify says.
func ByRecord(ctx context.Context, st Store, record string, after int64, limit int) ([]int64, []*Entry, error) {
	idx, raw, err := st.JournalByRecord(ctx, record, after, limit)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Entry, len(raw))
	for i, b := range raw {
		e, err := DecodeEntry(b)
		if err != nil || e.Record != record {
			return nil, nil, fmt.Errorf("%w: entry %d is filed under %s but does not name it (its record column was altered): run amane journal verify", ErrIntegrity, idx[i], record)
		}
		out[i] = e
	}
	return idx, out, nil
}
