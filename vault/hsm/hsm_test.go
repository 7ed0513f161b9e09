package hsm_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"amane/vault"
	"amane/vault/hsm"
	"amane/vault/hsm/hsmtest"
)

func create(t testing.TB, cfg hsm.Config) *hsm.HSM {
	t.Helper()
	h, err := hsm.Create(cfg)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func open(t testing.TB, cfg hsm.Config) *hsm.HSM {
	t.Helper()
	h, err := hsm.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func wrap(t *testing.T, h *hsm.HSM, v uint32, dek, ad []byte) []byte {
	t.Helper()
	w, err := h.Wrap(v, dek, ad)
	if err != nil {
		t.Fatalf("Wrap(%d): %v", v, err)
	}
	return w
}

func mustUnwrap(t *testing.T, h *hsm.HSM, v uint32, w, ad, want []byte) {
	t.Helper()
	if u, err := h.Unwrap(v, w, ad); err != nil || u == nil {
		t.Fatalf("Unwrap(%d) = %v, %v", v, u, err)
	}
	got, err := h.UnwrapBytes(v, w, ad)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Unwrap(%d) = %x, %v; want %x", v, got, err, want)
	}
}

var dek = bytes.Repeat([]byte{0xab}, 32)

func TestWrapUnwrap(t *testing.T) {
	h := create(t, hsmtest.Token(t))
	if v := h.CurrentVersion(); v != 1 {
		t.Fatalf("CurrentVersion() = %d, want 1", v)
	}
	if vs := h.Versions(); !slices.Equal(vs, []uint32{1}) {
		t.Fatalf("Versions() = %v, want [1]", vs)
	}
	ad := []byte("amane/dek/v1\x00P-1")
	w := wrap(t, h, 1, dek, ad)
	t.Run("OK", func(t *testing.T) {
		if len(w) != 12+32+16 {
			t.Fatalf("len(wrapped) = %d, want 12+32+16", len(w))
		}
		if bytes.Contains(w, dek[:8]) {
			t.Fatal("the wrapped key holds the key")
		}
		mustUnwrap(t, h, 1, w, ad, dek)
	})
	t.Run("OKFreshNonce", func(t *testing.T) {
		if w2 := wrap(t, h, 1, dek, ad); bytes.Equal(w2[:12], w[:12]) || bytes.Equal(w2, w) {
			t.Fatal("two wraps share a nonce")
		}
	})
	t.Run("OKNoAD", func(t *testing.T) {
		mustUnwrap(t, h, 1, wrap(t, h, 1, dek, nil), nil, dek)
	})
	t.Run("ErrWrapVersion", func(t *testing.T) {
		if _, err := h.Wrap(2, dek, ad); err == nil {
			t.Fatal("Wrap under a missing version succeeded")
		}
	})
	flipped := func(i int) []byte { b := slices.Clone(w); b[i] ^= 1; return b }
	for _, tc := range []struct {
		name    string
		version uint32
		wrapped []byte
		ad      []byte
		msg     string
	}{
		{"ErrAD", 1, w, []byte("amane/dek/v1\x00P-2"), "does not authenticate"},
		{"ErrNoAD", 1, w, nil, "does not authenticate"},
		{"ErrVersion", 7, w, ad, "no KEK version 7"},
		{"ErrVersionZero", 0, w, ad, "no KEK version 0"},
		{"ErrNonce", 1, flipped(0), ad, "does not authenticate"},
		{"ErrCiphertext", 1, flipped(20), ad, "does not authenticate"},
		{"ErrTag", 1, flipped(len(w) - 1), ad, "does not authenticate"},
		{"ErrTruncated", 1, w[:len(w)-1], ad, "does not authenticate"},
		{"ErrShort", 1, w[:27], ad, "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Unwrap(tc.version, tc.wrapped, tc.ad)
			if err == nil || got != nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Unwrap = %x, %v; want an error with %q", got, err, tc.msg)
			}
		})
	}
	t.Run("OKAfterErrors", func(t *testing.T) { // a failed decryption leaves no operation active in a pooled session
		for range 5 {
			mustUnwrap(t, h, 1, w, ad, dek)
		}
	})
}

func TestVault(t *testing.T) { // the HSM behind a vault: seal with one handle, open with another
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	if err := hsm.CreateIndexKey(filepath.Join(t.TempDir(), "index-key.json"), h); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(h, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k, ver, wrapped, err := v.NewDataKey("P-1")
	if err != nil || ver != 1 {
		t.Fatalf("NewDataKey = %d, %v", ver, err)
	}
	ct, err := k.Seal("name", "Amane")
	if err != nil {
		t.Fatal(err)
	}
	o := vault.NewOpener(v)
	u, err := o.Unwrap("P-1", ver, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := o.Open(u, "name", ct); err != nil || pt != "Amane" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := o.Unwrap("P-2", ver, wrapped); err == nil {
		t.Fatal("a data key unwrapped for another subject")
	}
}

func TestKeyAttributes(t *testing.T) {
	h := create(t, hsmtest.Token(t))
	if _, err := h.AddVersion(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint32{1, 2} {
		sensitive, extractable, err := h.KeyAttributes(v)
		if err != nil {
			t.Fatal(err)
		}
		if !sensitive || extractable {
			t.Fatalf("KEK version %d: sensitive=%v extractable=%v; want true, false", v, sensitive, extractable)
		}
	}
	if _, _, err := h.KeyAttributes(3); err == nil {
		t.Fatal("KeyAttributes of a missing version succeeded")
	}
}

func TestCreateOpen(t *testing.T) {
	cfg := hsmtest.Token(t)
	t.Run("ErrOpenEmpty", func(t *testing.T) {
		h, err := hsm.Open(cfg)
		if err == nil {
			h.Close()
			t.Fatal("Open succeeded on a token without keys")
		}
		if !strings.Contains(err.Error(), `no key labelled "amane-kek"`) {
			t.Fatalf("error %q does not say the key is missing", err)
		}
	})
	h := create(t, cfg)
	w := wrap(t, h, 1, dek, nil)
	t.Run("ErrCreateTwice", func(t *testing.T) {
		h2, err := hsm.Create(cfg)
		if err == nil {
			h2.Close()
			t.Fatal("Create succeeded on a token holding the key already")
		}
		if !strings.Contains(err.Error(), "already holds a key") {
			t.Fatalf("error %q does not say the key exists", err)
		}
		if vs := open(t, cfg).Versions(); !slices.Equal(vs, []uint32{1}) {
			t.Fatalf("Versions() = %v after a refused Create", vs)
		}
	})
	t.Run("OKOpen", func(t *testing.T) {
		h2 := open(t, cfg)
		if h2.CurrentVersion() != 1 {
			t.Fatalf("CurrentVersion() = %d", h2.CurrentVersion())
		}
		mustUnwrap(t, h2, 1, w, nil, dek)
	})
	t.Run("OKOtherLabel", func(t *testing.T) { // another key label is another set of versions
		c := cfg
		c.KeyLabel = "other-kek"
		h2 := create(t, c)
		if _, err := h2.Unwrap(1, w, nil); err == nil {
			t.Fatal("a key of another label unwrapped")
		}
		if vs := open(t, cfg).Versions(); !slices.Equal(vs, []uint32{1}) {
			t.Fatalf("Versions() = %v, counting keys of another label", vs)
		}
	})
	t.Run("OKClose", func(t *testing.T) {
		h2 := open(t, cfg)
		if err := h2.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h2.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := h2.Wrap(1, dek, nil); err == nil {
			t.Fatal("Wrap after Close succeeded")
		}
		mustUnwrap(t, h, 1, w, nil, dek) // the other handle still works
	})
}

func TestConfigErrors(t *testing.T) {
	cfg := hsmtest.Token(t)
	for _, tc := range []struct {
		name string
		edit func(c *hsm.Config)
		msg  string
	}{
		{"ErrNoModule", func(c *hsm.Config) { c.Module = "" }, "no PKCS#11 module"},
		{"ErrModuleMissing", func(c *hsm.Config) { c.Module = "/nonexistent/libpkcs11.so" }, "/nonexistent/libpkcs11.so"},
		{"ErrNoTokenLabel", func(c *hsm.Config) { c.TokenLabel = "" }, "no token label"},
		{"ErrNoKeyLabel", func(c *hsm.Config) { c.KeyLabel = "" }, "no key label"},
		{"ErrTokenMissing", func(c *hsm.Config) { c.TokenLabel = "nope" }, `no token labelled "nope"`},
		{"ErrPINFileMissing", func(c *hsm.Config) { c.PINFile = filepath.Join(t.TempDir(), "nope") }, "PIN file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			h, err := hsm.Open(c)
			if err == nil {
				h.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestPIN(t *testing.T) {
	cfg := hsmtest.Token(t)
	create(t, cfg).Close()
	noFile := cfg
	noFile.PINFile = ""
	t.Setenv("AMANE_HSM_PIN", "")
	t.Setenv("AMANE_HSM_PIN_FILE", "")
	t.Run("ErrNone", func(t *testing.T) {
		_, err := hsm.Open(noFile)
		if err == nil || !strings.Contains(err.Error(), "AMANE_HSM_PIN") {
			t.Fatalf("Open without a PIN = %v; want an error naming AMANE_HSM_PIN", err)
		}
	})
	t.Run("OKFile", func(t *testing.T) { open(t, cfg) })
	t.Run("OKEnv", func(t *testing.T) {
		t.Setenv("AMANE_HSM_PIN", hsmtest.PIN)
		open(t, noFile)
	})
	t.Run("OKEnvFile", func(t *testing.T) {
		t.Setenv("AMANE_HSM_PIN_FILE", cfg.PINFile)
		open(t, noFile)
	})
	t.Run("OKFileBeforeEnv", func(t *testing.T) {
		t.Setenv("AMANE_HSM_PIN", "0000")
		open(t, cfg)
	})
	wrongFile := filepath.Join(t.TempDir(), "wrong-pin")
	if err := os.WriteFile(wrongFile, []byte("4321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := cfg
	wrong.PINFile = wrongFile
	checkWrong := func(t *testing.T, c hsm.Config) {
		t.Helper()
		h, err := hsm.Open(c)
		if err == nil {
			h.Close()
			t.Fatal("Open with a wrong PIN succeeded")
		}
		if !strings.Contains(err.Error(), `wrong PIN for token "amane-test"`) {
			t.Fatalf("error %q does not say the PIN is wrong", err)
		}
	}
	t.Run("ErrWrongFile", func(t *testing.T) { checkWrong(t, wrong) })
	t.Run("ErrWrongEnv", func(t *testing.T) {
		t.Setenv("AMANE_HSM_PIN", "4321")
		checkWrong(t, noFile)
	})
	t.Run("ErrWrongWhileLoggedIn", func(t *testing.T) { // PKCS#11 login is per process: checked by Amane
		open(t, cfg)
		checkWrong(t, wrong)
	})
	t.Run("ErrEmptyFile", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty")
		if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.PINFile = empty
		if _, err := hsm.Open(c); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Fatalf("Open with an empty PIN file = %v", err)
		}
	})
}

func TestAddVersion(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	other := open(t, cfg) // opened before the new version, refreshed explicitly
	lazy := open(t, cfg)  // opened before the new version, refreshed by Unwrap
	w1 := wrap(t, h, 1, dek, []byte("ad"))
	v, err := h.AddVersion()
	if err != nil || v != 2 {
		t.Fatalf("AddVersion = %d, %v; want 2", v, err)
	}
	if c := h.CurrentVersion(); c != 2 {
		t.Fatalf("CurrentVersion() = %d, want 2", c)
	}
	if vs := h.Versions(); !slices.Equal(vs, []uint32{1, 2}) {
		t.Fatalf("Versions() = %v, want [1 2]", vs)
	}
	mustUnwrap(t, h, 1, w1, []byte("ad"), dek)
	w2 := wrap(t, h, 2, dek, []byte("ad"))
	mustUnwrap(t, h, 2, w2, []byte("ad"), dek)
	if _, err := h.Unwrap(1, w2, []byte("ad")); err == nil {
		t.Fatal("a key wrapped under version 2 unwrapped under version 1")
	}

	t.Run("OKRefresh", func(t *testing.T) {
		if vs := other.Versions(); !slices.Equal(vs, []uint32{1}) {
			t.Fatalf("before Refresh, Versions() = %v", vs)
		}
		if err := other.Refresh(); err != nil {
			t.Fatal(err)
		}
		if vs, c := other.Versions(), other.CurrentVersion(); !slices.Equal(vs, []uint32{1, 2}) || c != 2 {
			t.Fatalf("after Refresh, Versions() = %v, current %d", vs, c)
		}
		mustUnwrap(t, other, 2, w2, []byte("ad"), dek)
		mustUnwrap(t, h, 2, wrap(t, other, 2, dek, nil), nil, dek)
	})
	t.Run("OKUnwrapRefreshes", func(t *testing.T) {
		if c := lazy.CurrentVersion(); c != 1 {
			t.Fatalf("CurrentVersion() = %d before any refresh", c)
		}
		mustUnwrap(t, lazy, 2, w2, []byte("ad"), dek)
		if c := lazy.CurrentVersion(); c != 2 {
			t.Fatalf("CurrentVersion() = %d after an Unwrap refreshed", c)
		}
	})
	t.Run("OKRefreshThrottled", func(t *testing.T) { // a second unknown version within a second: no re-scan
		if _, err := h.AddVersion(); err != nil {
			t.Fatal(err)
		}
		w3 := wrap(t, h, 3, dek, nil)
		if _, err := lazy.Unwrap(3, w3, nil); err == nil {
			t.Skip("more than a second passed since the last re-scan") // a slow machine: not a failure
		}
		if err := lazy.Refresh(); err != nil {
			t.Fatal(err)
		}
		mustUnwrap(t, lazy, 3, w3, nil, dek)
	})
	t.Run("OKReopen", func(t *testing.T) {
		h2 := open(t, cfg)
		if vs, c := h2.Versions(), h2.CurrentVersion(); !slices.Equal(vs, []uint32{1, 2, 3}) || c != 3 {
			t.Fatalf("Versions() = %v, current %d", vs, c)
		}
		mustUnwrap(t, h2, 1, w1, []byte("ad"), dek)
	})
}

func TestRemoveVersion(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	other := open(t, cfg)
	w1 := wrap(t, h, 1, dek, nil)
	if err := h.RemoveVersion(1); err == nil || !strings.Contains(err.Error(), "current") {
		t.Fatalf("RemoveVersion(current) = %v; want a refusal", err)
	}
	mustUnwrap(t, h, 1, w1, nil, dek)
	if _, err := h.AddVersion(); err != nil {
		t.Fatal(err)
	}
	w2 := wrap(t, h, 2, dek, nil)
	if err := h.RemoveVersion(2); err == nil {
		t.Fatal("RemoveVersion of the new current version succeeded")
	}
	if err := h.RemoveVersion(1); err != nil {
		t.Fatal(err)
	}
	if vs := h.Versions(); !slices.Equal(vs, []uint32{2}) {
		t.Fatalf("Versions() = %v, want [2]", vs)
	}
	if _, err := h.Unwrap(1, w1, nil); err == nil {
		t.Fatal("a key wrapped under a removed version unwrapped")
	}
	mustUnwrap(t, h, 2, w2, nil, dek)
	if err := h.RemoveVersion(1); err == nil || !strings.Contains(err.Error(), "no KEK version 1") {
		t.Fatalf("RemoveVersion of a removed version = %v", err)
	}
	t.Run("OKOtherHandle", func(t *testing.T) {
		if _, err := other.Unwrap(1, w1, nil); err == nil {
			t.Fatal("another handle unwrapped under a destroyed key")
		}
		if err := other.Refresh(); err != nil {
			t.Fatal(err)
		}
		if vs := other.Versions(); !slices.Equal(vs, []uint32{2}) {
			t.Fatalf("after Refresh, Versions() = %v", vs)
		}
		mustUnwrap(t, other, 2, w2, nil, dek)
		if vs := open(t, cfg).Versions(); !slices.Equal(vs, []uint32{2}) {
			t.Fatalf("a new handle sees %v", vs)
		}
	})
}

// TestOtherProcess adds a version from a child process (this test binary, in helperProcess) while this
// process holds the token open: SoftHSM's file store is shared between processes as a real HSM is.
func TestOtherProcess(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	w1 := wrap(t, h, 1, dek, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "AMANE_HSM_HELPER=1", "AMANE_HSM_HELPER_PIN_FILE="+cfg.PINFile,
		"AMANE_HSM_HELPER_WRAPPED="+hex.EncodeToString(w1))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	var w2 []byte
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "wrapped-v2 "); ok {
			w2, _ = hex.DecodeString(s)
		}
	}
	if w2 == nil {
		t.Fatalf("no wrapped key in the helper's output:\n%s", out)
	}
	mustUnwrap(t, h, 2, w2, nil, dek) // an unknown version: re-scans the token
	if vs, c := h.Versions(), h.CurrentVersion(); !slices.Equal(vs, []uint32{1, 2}) || c != 2 {
		t.Fatalf("Versions() = %v, current %d", vs, c)
	}
}

// TestHelperProcess is the child of TestOtherProcess.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("AMANE_HSM_HELPER") != "1" {
		t.Skip("child process of TestOtherProcess")
	}
	cfg := hsm.Config{Module: hsmtest.Module, TokenLabel: "amane-test", KeyLabel: "amane-kek",
		PINFile: os.Getenv("AMANE_HSM_HELPER_PIN_FILE")}
	h := open(t, cfg)
	w1, _ := hex.DecodeString(os.Getenv("AMANE_HSM_HELPER_WRAPPED"))
	mustUnwrap(t, h, 1, w1, nil, dek)
	v, err := h.AddVersion()
	if err != nil || v != 2 {
		t.Fatalf("AddVersion = %d, %v", v, err)
	}
	fmt.Printf("wrapped-v2 %x\n", wrap(t, h, 2, dek, nil))
}

func TestIndexKey(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	path := filepath.Join(t.TempDir(), "index-key.json")
	if err := hsm.CreateIndexKey(path, h); err != nil {
		t.Fatal(err)
	}
	key, err := hsm.OpenIndexKey(path, h)
	if err != nil || len(key) != 32 {
		t.Fatalf("OpenIndexKey = %x, %v", key, err)
	}
	b, _ := os.ReadFile(path)
	t.Run("OKFile", func(t *testing.T) {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
		}
		var f struct {
			Format  string `json:"format"`
			Version uint32 `json:"version"`
			Wrapped []byte `json:"wrapped"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Format != "amane-hsm-index-key/v1" || f.Version != 1 || len(f.Wrapped) != 12+32+16 {
			t.Fatalf("unexpected file: %s", b)
		}
		if bytes.Contains(b, key) || bytes.Contains(b, []byte(hex.EncodeToString(key))) {
			t.Fatal("the file holds the key")
		}
		if _, err := h.Unwrap(1, f.Wrapped, []byte("amane/dek/v1")); err == nil {
			t.Fatal("the index key unwrapped under another label")
		}
	})
	t.Run("OKReopen", func(t *testing.T) {
		again, err := hsm.OpenIndexKey(path, open(t, cfg))
		if err != nil || !bytes.Equal(again, key) {
			t.Fatalf("OpenIndexKey on another handle = %x, %v", again, err)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		if err := hsm.CreateIndexKey(path, h); err == nil {
			t.Fatal("CreateIndexKey overwrote the file")
		}
		if b2, _ := os.ReadFile(path); !bytes.Equal(b2, b) {
			t.Fatal("the file changed")
		}
	})
	t.Run("OKDistinct", func(t *testing.T) {
		p2 := filepath.Join(t.TempDir(), "index-key.json")
		if err := hsm.CreateIndexKey(p2, h); err != nil {
			t.Fatal(err)
		}
		if k2, err := hsm.OpenIndexKey(p2, h); err != nil || bytes.Equal(k2, key) {
			t.Fatalf("a second index key = %x, %v", k2, err)
		}
	})
	t.Run("ErrAltered", func(t *testing.T) {
		for i, edit := range []func(f map[string]any){
			func(f map[string]any) { f["format"] = "amane-keyring-v1" },
			func(f map[string]any) { f["version"] = 9 },
			func(f map[string]any) { f["wrapped"] = f["wrapped"].(string)[:20] },
			func(f map[string]any) { s := []byte(f["wrapped"].(string)); s[30] ^= 1; f["wrapped"] = string(s) },
		} {
			var f map[string]any
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			edit(f)
			out, _ := json.Marshal(f)
			p := filepath.Join(t.TempDir(), fmt.Sprintf("edited-%d.json", i))
			os.WriteFile(p, out, 0o600)
			if k, err := hsm.OpenIndexKey(p, h); err == nil {
				t.Fatalf("edit %d: OpenIndexKey = %x, want an error", i, k)
			}
		}
		if _, err := hsm.OpenIndexKey(filepath.Join(t.TempDir(), "nope"), h); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("missing file: %v", err)
		}
	})
	t.Run("OKRewrap", func(t *testing.T) {
		if _, err := h.AddVersion(); err != nil {
			t.Fatal(err)
		}
		if err := hsm.RewrapIndexKey(path, h); err != nil {
			t.Fatal(err)
		}
		if err := h.RemoveVersion(1); err != nil {
			t.Fatal(err)
		}
		again, err := hsm.OpenIndexKey(path, h)
		if err != nil || !bytes.Equal(again, key) {
			t.Fatalf("OpenIndexKey after rewrap = %x, %v", again, err)
		}
		b2, _ := os.ReadFile(path)
		if !bytes.Contains(b2, []byte(`"version": 2`)) {
			t.Fatalf("the file is not wrapped under version 2: %s", b2)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Fatalf("temporary files left: %v", entries)
		}
	})
}

func TestConcurrent(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	other := open(t, cfg)
	w1 := wrap(t, h, 1, dek, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ad := fmt.Appendf(nil, "subject-%d", g)
			for i := range 50 {
				v := h.CurrentVersion()
				w, err := h.Wrap(v, dek, ad)
				if err != nil {
					errs <- err
					return
				}
				got, err := h.UnwrapBytes(v, w, ad)
				if err != nil || !bytes.Equal(got, dek) {
					errs <- fmt.Errorf("goroutine %d, round %d: Unwrap(%d) = %x, %v", g, i, v, got, err)
					return
				}
				if got, err := other.UnwrapBytes(1, w1, nil); err != nil || !bytes.Equal(got, dek) {
					errs <- fmt.Errorf("goroutine %d, round %d: Unwrap(1) on another handle = %x, %v", g, i, got, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := h.AddVersion(); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkWrap measures one data-key wrap on the token (a SoftHSM2 round trip through PKCS#11).
func BenchmarkWrap(b *testing.B) {
	h := create(b, hsmtest.Token(b))
	ad := []byte("amane/dek/v1\x00P-1")
	for b.Loop() {
		if _, err := h.Wrap(1, dek, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnwrap measures one data-key unwrap on the token.
func BenchmarkUnwrap(b *testing.B) {
	h := create(b, hsmtest.Token(b))
	ad := []byte("amane/dek/v1\x00P-1")
	w, err := h.Wrap(1, dek, ad)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Unwrap(1, w, ad); err != nil {
			b.Fatal(err)
		}
	}
}
