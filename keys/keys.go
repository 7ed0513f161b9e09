// Package keys runs key-encryption key (KEK) rotation: status, rewrap, retire. It works on any
// vault.Custody (sealed keyring file, HSM) and any store's wrapped data keys (Store).
//
// Rotation is online. `amane keys rotate` adds a KEK version (the new current one) and rewraps every
// data key held under an older version, in small transactions that compare-and-swap each key: a key
// that the server replaced meanwhile (an update seals under a fresh data key) is left as the server
// wrote it. The server keeps serving throughout: it unwraps both versions (an unknown version makes
// the custody re-read its keys), and picks up the new current version for new data keys within its
// refresh interval. A version is retired only when no data key depends on it any more.
package keys

import (
	"context"
	"fmt"
	"slices"
	"time"

	"amane"
	"amane/vault"
)

// Store is what rotation reads and rewraps: a store's wrapped data keys (the first three methods of
// amane.KeyStore, which documents them); nothing that erases or reads a record.
type Store interface {
	KeyVersions(ctx context.Context) (map[uint32]int64, error)
	DataKeys(ctx context.Context, version uint32, after amane.DataKeyRef, limit int) ([]amane.DataKey, error)
	RewrapDataKeys(ctx context.Context, rw []amane.Rewrap) (int, error)
}

// VersionStatus is one KEK version: whether custody still holds it, how many data keys it wraps.
type VersionStatus struct {
	Version  uint32 `json:"version"`
	Current  bool   `json:"current"`
	Held     bool   `json:"held"`
	DataKeys int64  `json:"data_keys"`
}

// Status lists every version custody holds or a data key names, in increasing order.
func Status(ctx context.Context, store Store, c vault.Custody) ([]VersionStatus, error) {
	counts, err := store.KeyVersions(ctx)
	if err != nil {
		return nil, err
	}
	held := map[uint32]bool{}
	for _, v := range c.Versions() {
		held[v] = true
	}
	var vs []uint32
	for v := range held {
		vs = append(vs, v)
	}
	for v := range counts {
		if !held[v] {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	out := make([]VersionStatus, len(vs))
	for i, v := range vs {
		out[i] = VersionStatus{Version: v, Current: v == c.CurrentVersion(), Held: held[v], DataKeys: counts[v]}
	}
	return out, nil
}

// RewrapOptions tune Rewrap.
type RewrapOptions struct {
	Batch    int           // data keys per transaction; default 500
	Settle   time.Duration // after a pass finds nothing left, wait this long and look once more (a running server may still have wrapped under the old version until it refreshed); default 0
	Progress func(done int64)
}

// Rewrap rewraps every data key not under the current version, until none is left, and returns how
// many it rewrapped.
func Rewrap(ctx context.Context, store Store, v *vault.Vault, c vault.Custody, opt RewrapOptions) (int64, error) {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	var done int64
	settled := false
	for {
		cur := c.CurrentVersion()
		counts, err := store.KeyVersions(ctx)
		if err != nil {
			return done, err
		}
		left := false
		for ver, n := range counts {
			if ver == cur || n == 0 {
				continue
			}
			left = true
			if err := rewrapVersion(ctx, store, v, ver, opt, &done); err != nil {
				return done, err
			}
		}
		if !left {
			if settled || opt.Settle == 0 {
				return done, nil
			}
			settled = true
			select {
			case <-time.After(opt.Settle):
			case <-ctx.Done():
				return done, ctx.Err()
			}
		}
	}
}

func rewrapVersion(ctx context.Context, store Store, v *vault.Vault, ver uint32, opt RewrapOptions, done *int64) error {
	var after amane.DataKeyRef
	for {
		ks, err := store.DataKeys(ctx, ver, after, opt.Batch)
		if err != nil || len(ks) == 0 {
			return err
		}
		rw := make([]amane.Rewrap, len(ks))
		for i, k := range ks {
			nv, blob, err := v.Rewrap(k.VaultSubject(), k.Version, k.Blob)
			if err != nil {
				return fmt.Errorf("rewrap %s: %w", k.VaultSubject(), err)
			}
			rw[i] = amane.Rewrap{DataKeyRef: k.DataKeyRef, Old: k.WrappedKey, New: amane.WrappedKey{Version: nv, Blob: blob}}
		}
		got, err := store.RewrapDataKeys(ctx, rw)
		if err != nil {
			return err
		}
		*done += int64(got)
		if opt.Progress != nil {
			opt.Progress(*done)
		}
		after = ks[len(ks)-1].DataKeyRef
	}
}

// Retire removes a KEK version from custody, refusing while it is current or any data key depends
// on it.
func Retire(ctx context.Context, store Store, c vault.Custody, version uint32) error {
	if version == c.CurrentVersion() {
		return amane.Errorf(amane.ECONFLICT, "Version %d is the current key-encryption key: rotate first (amane keys rotate).", version)
	}
	if !slices.Contains(c.Versions(), version) {
		return amane.Errorf(amane.ENOTFOUND, "No key-encryption key version %d is held.", version)
	}
	counts, err := store.KeyVersions(ctx)
	if err != nil {
		return err
	}
	if n := counts[version]; n > 0 {
		return amane.Errorf(amane.ECONFLICT, "%d data keys still depend on version %d: finish the rotation (amane keys rotate) before retiring it.", n, version)
	}
	return c.RemoveVersion(version)
}
