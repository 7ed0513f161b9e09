package gate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"amane"
	"amane/ids"
	"amane/journal"
)

// AccessLog implements amane.AccessLogService: the journal entries about one insured person's record. An
// insured person sees their own; the DPO anyone's. Viewing the log is itself journaled.
func (g *Gate) AccessLog(ctx context.Context, employeeID int64) ([]amane.AccessEntry, error) {
	d, err := g.begin(ctx, actLog)
	if err != nil {
		return nil, err
	}
	if d.p.Role == amane.RoleInsured {
		if employeeID != 0 && employeeID != d.p.EmployeeID {
			return nil, d.deny(ctx, employeeRef(employeeID), "not their own record", outOfScope())
		}
		employeeID = d.p.EmployeeID
	}
	if employeeID <= 0 {
		return nil, amane.Invalid("Name the insured person.", amane.FieldError{Field: "employee", Rule: "required"})
	}
	if g.jstore == nil {
		return nil, amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	ref := employeeRef(employeeID)
	var out []amane.AccessEntry
	for after := int64(-1); ; {
		// Decoded from the hashed bytes; an entry filed here that names another record is refused
		// (journaled, logged as an internal error), never shown.
		idx, es, err := journal.ByRecord(ctx, g.jstore, ref, after, 1000)
		if errors.Is(err, journal.ErrIntegrity) {
			return nil, d.deny(ctx, ref, "journal integrity: run amane journal verify", err)
		} else if err != nil {
			return nil, err
		}
		for i := range idx {
			out = append(out, accessEntryOf(idx[i], es[i]))
		}
		if len(idx) < 1000 {
			break
		}
		after = idx[len(idx)-1]
	}
	if err := d.grant(ctx, []string{ref}, nil, "access log"); err != nil {
		return nil, err
	}
	return out, nil
}

// accessEntry decodes a stored entry; an undecodable one (tampered) shows as such, with its index.
func accessEntry(index int64, raw []byte) amane.AccessEntry {
	e, err := journal.DecodeEntry(raw)
	if err != nil {
		return amane.AccessEntry{Index: index, AccessEvent: amane.AccessEvent{Outcome: amane.OutcomeUnreadable}}
	}
	return accessEntryOf(index, e)
}

func accessEntryOf(index int64, e *journal.Entry) amane.AccessEntry {
	return amane.AccessEntry{Index: index, AccessEvent: *e}
}

// AccessProof implements amane.AccessLogService: the inclusion proof of one entry, signing a checkpoint first
// if none covers it yet. An insured person gets proofs of entries about their own record only.
func (g *Gate) AccessProof(ctx context.Context, index int64) ([]byte, error) {
	d, err := g.begin(ctx, actProof)
	if err != nil {
		return nil, err
	}
	if g.jstore == nil || g.journal == nil {
		return nil, amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	raw, err := g.jstore.JournalEntries(ctx, index, index+1)
	if err != nil || index < 0 || len(raw) != 1 || raw[0] == nil {
		return nil, amane.Errorf(amane.ENOTFOUND, "No journal entry %d.", index)
	}
	if d.p.Role == amane.RoleInsured {
		if e := accessEntry(index, raw[0]); e.Record != employeeRef(d.p.EmployeeID) {
			return nil, d.deny(ctx, "", "entry about another record", outOfScope())
		}
	}
	if size, err := g.journal.Checkpoint(ctx); err != nil {
		return nil, err
	} else if size <= index {
		return nil, amane.Errorf(amane.ENOTFOUND, "No journal entry %d.", index)
	}
	p, err := journal.ProveInclusion(ctx, g.jstore, index)
	if err != nil {
		return nil, err
	}
	if err := d.grantProof(ctx, index, raw[0]); err != nil { // refuse.go
		return nil, err
	}
	return json.MarshalIndent(p, "", "  ")
}

// Journal implements amane.AccessLogService: a page of the journal, newest first, for the auditor, the DPO
// and the security officer. Reading it is journaled.
func (g *Gate) Journal(ctx context.Context, before int64, limit int) ([]amane.AccessEntry, error) {
	d, err := g.begin(ctx, actAudit)
	if err != nil {
		return nil, err
	}
	if g.jstore == nil {
		return nil, amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	size, err := g.jstore.JournalSize(ctx)
	if err != nil {
		return nil, err
	}
	if before <= 0 || before > size {
		before = size
	}
	from := max(0, before-int64(limit))
	raw, err := g.jstore.JournalEntries(ctx, from, before)
	if err != nil {
		return nil, err
	}
	out := make([]amane.AccessEntry, 0, len(raw))
	for i, b := range raw {
		if b == nil {
			out = append(out, amane.AccessEntry{Index: from + int64(i), AccessEvent: amane.AccessEvent{Outcome: amane.OutcomeMissing}})
			continue
		}
		out = append(out, accessEntry(from+int64(i), b))
	}
	slices.Reverse(out)
	if err := d.grant(ctx, []string{"journal"}, nil, "audit"); err != nil {
		return nil, err
	}
	return out, nil
}

// ResolveInsured returns the internal id of the insured person with this immatriculation, for the CLI
// (system principal) to bind an account or a token to a record. Nothing is decrypted.
func (g *Gate) ResolveInsured(ctx context.Context, imm string) (int64, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil || p.Role != amane.RoleSystem {
		return 0, amane.Errorf(amane.EFORBIDDEN, "Only an administrator holding the keys may do this.")
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return 0, amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()})
	}
	r, err := g.employeeByImm(ctx, nil, n)
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}

// RecordLoad journals a bulk load by the system principal: one entry naming how many records the
// files held (the loader seals records without reading any back).
func (g *Gate) RecordLoad(ctx context.Context, records int) error {
	d, err := g.begin(ctx, actCreate)
	if err != nil {
		return err
	}
	return d.grant(ctx, []string{"load"}, nil, "bulk load of "+strconv.Itoa(records)+" records")
}
