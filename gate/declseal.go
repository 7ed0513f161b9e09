package gate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"amane"
	"amane/declare"
	"amane/vault"
)

// A declaration's aggregates (headcount, days, payroll, capped payroll), its contributions, its
// header and its status are in clear in the store: SQL sums them, history pages list them, and they
// are the employer's figures, not a person's. What the store cannot be trusted with is their
// integrity: an edit of headcount or payroll would otherwise be signed by the next attestation and
// shown by `declaration show` beside lines that disagree. So the gate seals them: a MAC under the
// index key (vault.Index, label "declaration-seal"), over the employer's internal id, the period
// and seq (so that a row cannot be moved or swapped with another) and every figure shown or signed.
// Every read that shows or signs a declaration's figures checks it first; a mismatch is an integrity
// error — no totals, no attestation. Recomputing the totals from the sealed lines instead would not
// survive an erasure (the erased person's salary is gone, the employer's payroll must stay), and
// would cost opening every line to show a history page.
//
// Rotating the index key (Reindex) reseals every declaration with the new key, in the same
// transaction as the blind indexes.

const labelDeclSeal = "declaration-seal"

// sealInput is what a declaration's seal covers, in a fixed JSON form.
type sealInput struct {
	Employer      int64                   `json:"e"`
	Period        string                  `json:"p"`
	Seq           int                     `json:"s"`
	Status        string                  `json:"st"`
	Received      string                  `json:"r"`
	Digest        []byte                  `json:"d"`
	Header        amane.DeclarationHeader `json:"h"`
	Totals        amane.DeclarationTotals `json:"t"`
	Contributions amane.Contributions     `json:"c"`
}

// declarationSeal is r's seal under v's index key.
func declarationSeal(v *vault.Vault, r *amane.DeclarationRecord) []byte {
	b, _ := json.Marshal(&sealInput{r.EmployerID, r.Period, r.Seq, r.Status, r.Received, r.Digest, r.Header, r.Totals, r.Contributions})
	sum := v.Index(labelDeclSeal, string(b))
	if len(sum) > 32 { // a pass-through vault (benchmarks) returns the input: keep the stored seal small
		h := sha256.Sum256(sum)
		return h[:16]
	}
	return sum
}

// errSeal is the integrity error of a declaration whose figures do not match their seal. It names
// the declaration by period and seq (not personal) and never the figures.
// Like every integrity failure of the gate it is a plain error: Amane's fault or the store's, an
// internal error to a client, never its figures.
func errSeal(r *amane.DeclarationRecord, legacy bool) error {
	if legacy {
		return fmt.Errorf("integrity: %w: declaration %s was stored before declarations were sealed and is not confirmed by its lines yet (amane declaration seal)", ErrDeclarationSeal, sealLabel(r))
	}
	return fmt.Errorf("integrity: %w: the figures of declaration %s were changed in the store; nothing of it is shown or signed", ErrDeclarationSeal, sealLabel(r))
}

// ErrDeclarationSeal is wrapped by the error of a declaration whose figures are not the ones the gate
// sealed.
var ErrDeclarationSeal = errors.New("declaration figures do not match their seal")

// checkSeal refuses a declaration whose figures are not the ones the gate sealed.
func (g *Gate) checkSeal(r *amane.DeclarationRecord) error {
	if len(r.Seal) == 0 {
		return errSeal(r, true)
	}
	if !hmac.Equal(r.Seal, declarationSeal(g.vault, r)) {
		return errSeal(r, false)
	}
	return nil
}

// checkSeals is checkSeal on each record.
func (g *Gate) checkSeals(rs []*amane.DeclarationRecord) error {
	for _, r := range rs {
		if err := g.checkSeal(r); err != nil {
			return err
		}
	}
	return nil
}

// SealLegacyDeclarations seals the declarations stored before seals existed, each after checking
// its figures against its own sealed lines (authenticated by their AEAD, bound to the declaration):
// the headcount, days, payroll and capped payroll recomputed from the lines, and the contributions
// recomputed from them with the rates of the period. A row that disagrees, or whose lines cannot
// all be opened (a person erased since: the figures cannot be confirmed any more), stays unsealed
// and is refused on read; it is counted in bad. Only a principal holding the keys runs it (the CLI,
// `amane declaration seal`).
func (g *Gate) SealLegacyDeclarations(ctx context.Context) (sealed, bad int, err error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil || p.Role != amane.RoleSystem {
		return 0, 0, amane.Errorf(amane.EFORBIDDEN, "Only an administrator holding the keys seals declarations.")
	}
	var after int64
	for {
		recs, err := g.store.UnsealedDeclarations(ctx, after, 256)
		if err != nil || len(recs) == 0 {
			return sealed, bad, err
		}
		for _, r := range recs {
			after = r.ID
			ok, err := g.confirmFromLines(ctx, r)
			if err != nil {
				return sealed, bad, err
			}
			if !ok {
				bad++
				continue
			}
			if err := g.store.SetDeclarationSeal(ctx, r.ID, declarationSeal(g.vault, r)); err != nil && amane.ErrorCode(err) != amane.ENOTFOUND {
				return sealed, bad, err
			}
			sealed++
		}
	}
}

// confirmFromLines reports whether a declaration's stored figures are those of its sealed lines.
func (g *Gate) confirmFromLines(ctx context.Context, r *amane.DeclarationRecord) (bool, error) {
	emp, err := g.store.EmployerByID(ctx, r.EmployerID)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	lines, err := parseBlob(r.Lines)
	if err != nil {
		return false, nil
	}
	keys, err := g.declarationKeys(ctx, emp.ID)
	if err != nil {
		return false, err
	}
	d, err := g.openDeclaration(emp, r, lines, keys, 0)
	if err != nil {
		return false, nil
	}
	ok := declare.Confirmed(d, r)
	clearDeclaration(d)
	return ok, nil
}

// clearDeclaration drops the personal text of an opened declaration that only its figures were
// needed of.
func clearDeclaration(d *amane.Declaration) {
	for i := range d.Lines {
		d.Lines[i].Surname, d.Lines[i].FirstName, d.Lines[i].Imm = "", "", ""
	}
	for i := range d.New {
		d.New[i].Surname, d.New[i].FirstName, d.New[i].Imm, d.New[i].CIN = "", "", "", ""
	}
}

// sealLabel names a declaration in errors and logs (no personal data).
func sealLabel(r *amane.DeclarationRecord) string { return r.Period + "/" + strconv.Itoa(r.Seq) }
