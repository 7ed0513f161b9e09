package gate

import (
	"context"

	"amane"
	"amane/vault"
)

// Reindex recomputes every blind index with next's index key (version), in one store transaction
// that also records the version: the store's indexes are never half old, half new. It opens every
// record to do so (an index is a keyed hash of the plaintext), which is why it lives in the gate.
// Erased people have nothing left to index. Writers wait for the transaction; a server started
// before must be restarted to use the new key (see docs/architecture.md).
func (g *Gate) Reindex(ctx context.Context, next *vault.Vault, version uint32, progress func(records int)) (int, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil || p.Role != amane.RoleSystem {
		return 0, amane.Errorf(amane.EFORBIDDEN, "Only an administrator holding the keys may reindex (amane keys reindex).")
	}
	rx, err := g.store.BeginReindex(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	err = g.store.Dump(ctx, func(it *amane.DumpItem) error {
		switch {
		case it.Employer != nil:
			e, err := g.openEmployer(it.Employer)
			if err != nil {
				return err
			}
			var r amane.EmployerRecord
			employerIndexes(next, &r, e)
			err = rx.SetEmployerIndexes(e.ID, r.RepCINIndex, r.EmailIndex, r.RIBIndex)
			n++
			if progress != nil && n%1000 == 0 {
				progress(n)
			}
			return err
		case it.Employee != nil && it.Employee.Key.Blob != nil:
			e, err := g.openEmployee(it.Employee)
			if err != nil {
				return err
			}
			var r amane.EmployeeRecord
			employeeIndexes(next, &r, e)
			err = rx.SetEmployeeIndexes(e.ID, r.ImmIndex, r.CINIndex, r.PassportIndex, r.NameIndex)
			n++
			if progress != nil && n%1000 == 0 {
				progress(n)
			}
			return err
		case it.Declaration != nil && len(it.Declaration.Seal) > 0:
			// The seal is a MAC under the index key: resealed with the new key, once checked with
			// the old one (a row changed in the store stays refused).
			if err := g.checkSeal(it.Declaration); err != nil {
				return nil
			}
			return rx.SetDeclarationSeal(it.Declaration.ID, declarationSeal(next, it.Declaration))
		}
		return nil
	})
	if err != nil {
		rx.Rollback()
		return 0, err
	}
	return n, rx.Commit(version)
}
