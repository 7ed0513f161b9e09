package keys_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/keys"
	"amane/load"
	"amane/postgres/pgtest"
	"amane/synth"
	"amane/vault"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is a registry of a few synthetic employers and insured people, each under a data key
// wrapped by KEK version 1, and a second handle on its keyring file: the custody `amane keys` opens.
type fixture struct {
	r        *amanetest.Registry
	ctx      context.Context
	custody  *vault.Keyring
	vault    *vault.Vault
	dataKeys int64
	imm      string // an insured person's immatriculation, read back through the gate
}

func newFixture(t *testing.T, r *amanetest.Registry) *fixture {
	t.Helper()
	ctx := amanetest.Context(amane.RoleSystem)
	var a, s bytes.Buffer
	if err := synth.Write(context.Background(), synth.Config{Employers: 3, Employees: 12, Seed: 5}, &a, &s, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Load(ctx, r.Store, r.Gate, &load.Source{Name: "ADHERENTS.csv", R: &a},
		&load.Source{Name: "SALARIES.csv", R: bytes.NewReader(s.Bytes())}, load.Options{}); err != nil {
		t.Fatal(err)
	}
	kr, err := vault.OpenKeyring(filepath.Join(r.Dir, "keyring.json"), []byte(amanetest.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.FromKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := r.Store.KeyVersions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[1] < 15 { // 3 employers and 12 people at least
		t.Fatalf("data keys by version after the load: %v", counts)
	}
	line := strings.SplitN(strings.Split(s.String(), "\n")[1], ",", 2)
	return &fixture{r: r, ctx: ctx, custody: kr, vault: v, dataKeys: counts[1], imm: line[0]}
}

func (f *fixture) status(t *testing.T) []keys.VersionStatus {
	t.Helper()
	st, err := keys.Status(context.Background(), f.r.Store, f.custody)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantStatus(t *testing.T, got []keys.VersionStatus, want ...keys.VersionStatus) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("status %+v, want %+v", got, want)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if amane.ErrorCode(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, amane.ErrorCode(err), code)
	}
}

// TestRotation walks one rotation on each store: status, add a version, retire refused while data
// keys depend on the old one, rewrap in batches, retire, and the data still reads.
func TestRotation(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := newFixture(t, r)
		n := f.dataKeys
		t.Run("StatusOK", func(t *testing.T) {
			wantStatus(t, f.status(t), keys.VersionStatus{Version: 1, Current: true, Held: true, DataKeys: n})
		})
		t.Run("ErrRetireCurrent", func(t *testing.T) {
			wantCode(t, keys.Retire(context.Background(), r.Store, f.custody, 1), amane.ECONFLICT)
		})
		t.Run("ErrRetireUnknown", func(t *testing.T) {
			wantCode(t, keys.Retire(context.Background(), r.Store, f.custody, 9), amane.ENOTFOUND)
		})
		if v, err := f.custody.AddVersion(); err != nil || v != 2 {
			t.Fatalf("AddVersion: %d, %v", v, err)
		}
		t.Run("StatusAfterAdd", func(t *testing.T) {
			wantStatus(t, f.status(t), keys.VersionStatus{Version: 1, Held: true, DataKeys: n},
				keys.VersionStatus{Version: 2, Current: true, Held: true})
		})
		t.Run("ErrRetireInUse", func(t *testing.T) {
			err := keys.Retire(context.Background(), r.Store, f.custody, 1)
			wantCode(t, err, amane.ECONFLICT)
			if !strings.Contains(err.Error(), "still depend on version 1") {
				t.Errorf("message %q", err)
			}
		})
		t.Run("RewrapOK", func(t *testing.T) {
			var progress []int64
			got, err := keys.Rewrap(context.Background(), r.Store, f.vault, f.custody,
				keys.RewrapOptions{Batch: 4, Progress: func(done int64) { progress = append(progress, done) }})
			if err != nil || got != n {
				t.Fatalf("Rewrap: %d, %v; want %d", got, err, n)
			}
			// One call per batch of 4, the last one at n.
			if len(progress) != int((n+3)/4) || progress[len(progress)-1] != n {
				t.Errorf("progress %v for %d data keys in batches of 4", progress, n)
			}
			wantStatus(t, f.status(t), keys.VersionStatus{Version: 1, Held: true},
				keys.VersionStatus{Version: 2, Current: true, Held: true, DataKeys: n})
			if got, err := keys.Rewrap(context.Background(), r.Store, f.vault, f.custody, keys.RewrapOptions{}); err != nil || got != 0 {
				t.Errorf("a second Rewrap: %d, %v; want 0", got, err)
			}
		})
		t.Run("RetireOK", func(t *testing.T) {
			if err := keys.Retire(context.Background(), r.Store, f.custody, 1); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, f.status(t), keys.VersionStatus{Version: 2, Current: true, Held: true, DataKeys: n})
			// The gate's custody is another handle on the same file: it re-reads it for version 2.
			e, err := r.Gate.Employee(f.ctx, f.imm)
			if err != nil || e.Immatriculation != f.imm {
				t.Fatalf("read after the rotation: %v", err)
			}
		})
	})
}

// lostCustody is a custody that no longer holds version 1 (lost, or never copied to this HSM).
type lostCustody struct{ *vault.Keyring }

var errLost = errors.New("version 1 is not held")

func (c lostCustody) Versions() []uint32 {
	return slices.DeleteFunc(c.Keyring.Versions(), func(v uint32) bool { return v == 1 })
}

func (c lostCustody) Unwrap(version uint32, wrapped, ad []byte) (*vault.UnwrappedKey, error) {
	if version == 1 {
		return nil, errLost
	}
	return c.Keyring.Unwrap(version, wrapped, ad)
}

// TestRewrapErr: with version 2 added, a canceled context stops Rewrap with its error; a custody that
// lost version 1 shows it in the status as not held, and Rewrap fails on its first key, naming the
// subject, having rewrapped nothing.
func TestRewrapErr(t *testing.T) {
	f := newFixture(t, amanetest.Open(t))
	if _, err := f.custody.AddVersion(); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := keys.Rewrap(ctx, f.r.Store, f.vault, f.custody, keys.RewrapOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Rewrap on a canceled context: %v", err)
		}
	})
	t.Run("ErrLostVersion", func(t *testing.T) {
		lost := lostCustody{f.custody}
		st, err := keys.Status(context.Background(), f.r.Store, lost)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, st, keys.VersionStatus{Version: 1, DataKeys: f.dataKeys}, keys.VersionStatus{Version: 2, Current: true, Held: true})
		v, err := vault.New(lost, f.custody.IndexKey())
		if err != nil {
			t.Fatal(err)
		}
		n, err := keys.Rewrap(context.Background(), f.r.Store, v, lost, keys.RewrapOptions{})
		if !errors.Is(err, errLost) || !strings.HasPrefix(err.Error(), "rewrap ") || n != 0 {
			t.Fatalf("Rewrap with version 1 lost: %d, %v", n, err)
		}
	})
	counts, _ := f.r.Store.KeyVersions(context.Background())
	if counts[1] != f.dataKeys || counts[2] != 0 {
		t.Errorf("data keys by version after the failed rewraps: %v, want %d under version 1", counts, f.dataKeys)
	}
}
