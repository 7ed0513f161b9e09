package vault_test

import (
	"go/types"
	"slices"
	"testing"

	"amane/internal/graphtest"
)

// byteResults are the exported functions and methods of vault and vault/hsm that return bytes (or a
// string), with what those bytes are. None is a data key: a data key leaves a KeyWrapper only as an
// *vault.UnwrappedKey, which only the vault reads. A new entry must say what it returns.
var byteResults = map[string]string{
	"(*amane/vault.DataKey).Seal":            "a field's ciphertext",
	"(*amane/vault.DataKey).Subject":         "the subject's name",
	"(*amane/vault.HistoryKey).Seal":         "a value's ciphertext",
	"(*amane/vault.HistoryKey).Subject":      "the subject's name",
	"(*amane/vault.Opener).Open":             "a field's plaintext: the Opener is the gate's capability (TestOnlyGateOpens)",
	"(*amane/vault.Opener).OpenRecord":       "a value's plaintext, likewise",
	"(*amane/vault.Vault).Index":             "a blind index (HMAC output)",
	"(*amane/vault.Vault).NewDataKey":        "the new data key's wrapped form",
	"(*amane/vault.Vault).NewHistoryKey":     "the new history key's wrapped form",
	"(*amane/vault.Vault).Rewrap":            "a data key's wrapped form under the current KEK",
	"(*amane/vault.Keyring).Wrap":            "a wrapped key",
	"(*amane/vault.Keyring).IndexKey":        "the blind-index key (vault.New's input), not a data key",
	"(*amane/vault.Keyring).IndexKeyVersion": "a blind-index key version, not a data key",
	"(*amane/vault.Keyring).AddIndexKey":     "a new blind-index key, not a data key",
	"(amane/vault.KeyWrapper).Wrap":          "a wrapped key",
	"(amane/vault.Custody).Wrap":             "a wrapped key",
	"(*amane/vault/hsm.HSM).Wrap":            "a wrapped key",
	"amane/vault/hsm.OpenIndexKey":           "the blind-index key: unwrapped under its own label, which no data key's wrapping uses",
	"amane/vault/hsm.AddIndexKey":            "a new blind-index key, likewise",
	"amane/vault/hsm.IndexKeyPath":           "a file name",
	"amane/vault/hsm.PIN":                    "the token's user PIN, read from its file or environment",
}

// TestNoDataKeyLeaves checks the exported API of vault and vault/hsm, on their types (export data,
// go/types): every exported function, every exported method of a type they export or return, and
// every method of an exported interface, is examined; each result that can carry key material — a
// []byte, a [N]byte, a string, or a struct or pointer to one with such an exported field — must be
// listed in byteResults, which says what it carries, and none is a data key. KeyWrapper.Unwrap (and
// so every Custody's, the keyring's and the HSM's) must return *vault.UnwrappedKey, which has no
// exported field and no exported method.
func TestNoDataKeyLeaves(t *testing.T) {
	g, err := graphtest.Load("..", "./vault/...")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []*types.Package
	for _, path := range []string{"amane/vault", "amane/vault/hsm"} {
		p, err := g.Import(path)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	ours := func(n *types.Named) bool { return slices.Contains(pkgs, n.Obj().Pkg()) }
	named := func(t types.Type) *types.Named {
		t = types.Unalias(t)
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		n, _ := t.(*types.Named)
		return n
	}
	var carries func(t types.Type, depth int) bool
	carries = func(t types.Type, depth int) bool {
		if depth > 3 {
			return false
		}
		switch u := types.Unalias(t).Underlying().(type) {
		case *types.Basic:
			return u.Kind() == types.String
		case *types.Slice:
			b, ok := u.Elem().Underlying().(*types.Basic)
			return ok && b.Kind() == types.Byte
		case *types.Array:
			b, ok := u.Elem().Underlying().(*types.Basic)
			return ok && b.Kind() == types.Byte
		case *types.Pointer:
			return carries(u.Elem(), depth+1)
		case *types.Struct:
			for i := range u.NumFields() {
				if u.Field(i).Exported() && carries(u.Field(i).Type(), depth+1) {
					return true
				}
			}
		}
		return false
	}

	seen := map[*types.Named]bool{}
	var queue []*types.Named
	enqueue := func(t types.Type) {
		if n := named(t); n != nil && ours(n) && !seen[n] {
			seen[n] = true
			queue = append(queue, n)
		}
	}
	checked, found := 0, map[string]bool{}
	checkFunc := func(name string, sig *types.Signature) {
		checked++
		for i := range sig.Results().Len() {
			r := sig.Results().At(i).Type()
			enqueue(r)
			if carries(r, 0) {
				found[name] = true
				if _, ok := byteResults[name]; !ok {
					t.Errorf("%s returns %s, which can carry key material: say in byteResults what it is (never a data key)", name, types.TypeString(r, nil))
				}
			}
		}
	}
	for _, p := range pkgs {
		for _, name := range p.Scope().Names() {
			switch o := p.Scope().Lookup(name).(type) {
			case *types.Func:
				if o.Exported() {
					checkFunc(o.FullName(), o.Signature())
				}
			case *types.TypeName:
				if o.Exported() {
					enqueue(o.Type())
				}
			}
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if it, ok := n.Underlying().(*types.Interface); ok {
			for i := range it.NumMethods() {
				m := it.Method(i)
				checkFunc("("+types.TypeString(n, nil)+")."+m.Name(), m.Signature())
			}
			continue
		}
		ms := types.NewMethodSet(types.NewPointer(n))
		for i := range ms.Len() {
			m := ms.At(i).Obj().(*types.Func)
			if m.Exported() {
				checkFunc(m.FullName(), m.Signature())
			}
		}
	}
	if checked < 30 {
		t.Fatalf("checked only %d functions and methods: the walk is broken", checked)
	}

	// The way out of a KeyWrapper is opaque.
	v := pkgs[0]
	kw := v.Scope().Lookup("KeyWrapper").Type().Underlying().(*types.Interface)
	var unwrap *types.Func
	for i := range kw.NumMethods() {
		if kw.Method(i).Name() == "Unwrap" {
			unwrap = kw.Method(i)
		}
	}
	uk := v.Scope().Lookup("UnwrappedKey").(*types.TypeName)
	if unwrap == nil || unwrap.Signature().Results().Len() != 2 || named(unwrap.Signature().Results().At(0).Type()) != uk.Type() {
		t.Fatalf("KeyWrapper.Unwrap must return (*vault.UnwrappedKey, error), not %v", unwrap)
	}
	st := uk.Type().Underlying().(*types.Struct)
	for i := range st.NumFields() {
		if st.Field(i).Exported() {
			t.Errorf("vault.UnwrappedKey exports field %s: a data key's bytes could leave the vault", st.Field(i).Name())
		}
	}
	ms := types.NewMethodSet(types.NewPointer(uk.Type()))
	for i := range ms.Len() {
		if ms.At(i).Obj().Exported() {
			t.Errorf("vault.UnwrappedKey has the exported method %s: a data key's bytes could leave the vault", ms.At(i).Obj().Name())
		}
	}
	for name := range byteResults { // a stale entry would let a later function slip in under its name
		if !found[name] {
			t.Errorf("byteResults lists %s, which returns no bytes or does not exist: remove it", name)
		}
	}
}
