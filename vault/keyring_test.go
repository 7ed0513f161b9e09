package vault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"amane/vault"
)

// rewrite decodes the keyring file at path as generic JSON, lets edit change it, and writes it to a new
// file whose path it returns.
func rewrite(t *testing.T, path string, edit func(f map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("the keyring file is not JSON: %v", err)
	}
	edit(f)
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edited.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flipB64 flips one bit of byte i of a base64 (standard) JSON value.
func flipB64(t *testing.T, v any, i int) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(v.(string))
	if err != nil {
		t.Fatalf("not base64: %v", err)
	}
	b[i] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

func kdf(f map[string]any) map[string]any { return f["kdf"].(map[string]any) }

func TestOpenKeyring(t *testing.T) {
	kr, path := newKeyring(t)
	pass := []byte(testPassphrase)
	t.Run("OKVersions", func(t *testing.T) {
		if got := kr.Versions(); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("Versions() = %v, want [1]", got)
		}
		if got := kr.CurrentVersion(); got != 1 {
			t.Fatalf("CurrentVersion() = %d, want 1", got)
		}
		if got := len(kr.IndexKey()); got != 32 {
			t.Fatalf("len(IndexKey()) = %d, want 32", got)
		}
	})
	t.Run("OKReopen", func(t *testing.T) { // the same keys each time the file is opened
		again, err := vault.OpenKeyring(path, pass)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.IndexKey(), kr.IndexKey()) {
			t.Fatal("the index key differs between two openings")
		}
		w, err := kr.Wrap(1, make([]byte, 32), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		if dek, err := again.Unwrap(1, w, []byte("ad")); err != nil || !bytes.Equal(vault.UnwrappedBytes(dek), make([]byte, 32)) {
			t.Fatalf("Unwrap after reopening = %x, %v", dek, err)
		}
	})
	t.Run("ErrPassphrase", func(t *testing.T) {
		for _, p := range []string{"correct horse battery stapl", "Correct horse battery staple", testPassphrase + " ", ""} {
			k, err := vault.OpenKeyring(path, []byte(p))
			if !errors.Is(err, vault.ErrPassphrase) || k != nil {
				t.Fatalf("OpenKeyring(%q) = %v, %v; want ErrPassphrase", p, k, err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, f map[string]any)
	}{
		{"ErrSealedFirstByte", func(t *testing.T, f map[string]any) { f["sealed"] = flipB64(t, f["sealed"], 0) }},
		{"ErrSealedMiddleByte", func(t *testing.T, f map[string]any) { f["sealed"] = flipB64(t, f["sealed"], 40) }},
		{"ErrSealedLastByte", func(t *testing.T, f map[string]any) {
			b, _ := base64.StdEncoding.DecodeString(f["sealed"].(string))
			f["sealed"] = flipB64(t, f["sealed"], len(b)-1)
		}},
		{"ErrSealedTruncated", func(t *testing.T, f map[string]any) {
			b, _ := base64.StdEncoding.DecodeString(f["sealed"].(string))
			f["sealed"] = base64.StdEncoding.EncodeToString(b[:len(b)-1])
		}},
		{"ErrNonce", func(t *testing.T, f map[string]any) { f["nonce"] = flipB64(t, f["nonce"], 3) }},
		{"ErrSalt", func(t *testing.T, f map[string]any) { kdf(f)["salt"] = flipB64(t, kdf(f)["salt"], 5) }},
		{"ErrTimeChanged", func(t *testing.T, f map[string]any) { kdf(f)["time"] = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := rewrite(t, path, func(f map[string]any) { tc.edit(t, f) })
			k, err := vault.OpenKeyring(p, pass)
			if !errors.Is(err, vault.ErrPassphrase) || k != nil {
				t.Fatalf("OpenKeyring = %v, %v; want ErrPassphrase", k, err)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"ErrNotJSON", "not a keyring"},
		{"ErrEmpty", ""},
		{"ErrOtherFormat", `{"format":"amane-keyring-v2"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "k.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := vault.OpenKeyring(p, pass)
			if err == nil || k != nil || !strings.Contains(err.Error(), "is not an Amane keyring file") {
				t.Fatalf("OpenKeyring = %v, %v; want a format error", k, err)
			}
		})
	}
	t.Run("ErrMissing", func(t *testing.T) {
		k, err := vault.OpenKeyring(filepath.Join(t.TempDir(), "none.json"), pass)
		if !errors.Is(err, os.ErrNotExist) || k != nil {
			t.Fatalf("OpenKeyring = %v, %v; want a not-exist error", k, err)
		}
	})
}

// TestOpenKeyringKDFParams checks that crafted key-derivation parameters are refused before Argon2
// runs: with these values Argon2 would panic (time or threads 0), try to allocate terabytes, or run for
// hours, and a too-weak setting would run quickly and fail only later with ErrPassphrase.
func TestOpenKeyringKDFParams(t *testing.T) {
	_, path := newKeyring(t)
	for _, tc := range []struct {
		name string
		edit func(k map[string]any)
	}{
		{"ErrMemoryHuge", func(k map[string]any) { k["memory_kib"] = uint32(1<<32 - 1) }},
		{"ErrMemoryAboveBound", func(k map[string]any) { k["memory_kib"] = 1<<20 + 1 }},
		{"ErrMemoryTiny", func(k map[string]any) { k["memory_kib"] = 8 }},
		{"ErrTimeZero", func(k map[string]any) { k["time"] = 0 }},
		{"ErrTimeHuge", func(k map[string]any) { k["time"] = uint32(1<<32 - 1) }},
		{"ErrThreadsZero", func(k map[string]any) { k["threads"] = 0 }},
		{"ErrSaltShort", func(k map[string]any) { k["salt"] = base64.StdEncoding.EncodeToString(make([]byte, 15)) }},
		{"ErrSaltMissing", func(k map[string]any) { delete(k, "salt") }},
		{"ErrAlg", func(k map[string]any) { k["alg"] = "argon2i" }},
		{"ErrAlgMissing", func(k map[string]any) { delete(k, "alg") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := rewrite(t, path, func(f map[string]any) { tc.edit(kdf(f)) })
			k, err := vault.OpenKeyring(p, []byte(testPassphrase))
			if err == nil || k != nil {
				t.Fatalf("OpenKeyring = %v, %v; want an error", k, err)
			}
			if errors.Is(err, vault.ErrPassphrase) || !strings.Contains(err.Error(), "unsupported key-derivation parameters") {
				t.Fatalf("error %v: want the parameters refused before deriving any key", err)
			}
		})
	}
	t.Run("ErrNonceLength", func(t *testing.T) {
		p := rewrite(t, path, func(f map[string]any) { f["nonce"] = base64.StdEncoding.EncodeToString(make([]byte, 16)) })
		if _, err := vault.OpenKeyring(p, []byte(testPassphrase)); err == nil ||
			!strings.Contains(err.Error(), "unsupported key-derivation parameters") {
			t.Fatalf("error %v: want the nonce refused before deriving any key", err)
		}
	})
	t.Run("ErrOutOfRange", func(t *testing.T) { // does not fit the field: refused at decoding
		p := rewrite(t, path, func(f map[string]any) { kdf(f)["memory_kib"] = uint64(1) << 40 })
		if _, err := vault.OpenKeyring(p, []byte(testPassphrase)); err == nil {
			t.Fatal("a memory of 2^40 KiB was accepted")
		}
	})
}

func TestCreateKeyring(t *testing.T) {
	t.Run("ErrExists", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keyring.json")
		old := []byte("precious content")
		if err := os.WriteFile(path, old, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := vault.CreateKeyring(path, []byte(testPassphrase)); err == nil {
			t.Fatal("CreateKeyring overwrote an existing file")
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
			t.Fatalf("the existing file changed: %q", b)
		}
	})
	t.Run("ErrExistsKeyring", func(t *testing.T) {
		kr, path := newKeyring(t)
		if err := vault.CreateKeyring(path, []byte(testPassphrase)); err == nil {
			t.Fatal("CreateKeyring overwrote an existing keyring")
		}
		again, err := vault.OpenKeyring(path, []byte(testPassphrase))
		if err != nil || !bytes.Equal(again.IndexKey(), kr.IndexKey()) {
			t.Fatalf("the existing keyring changed: %v", err)
		}
	})
	for _, tc := range []struct{ name, pass string }{
		{"ErrPassphraseShort", "eleven char"},
		{"ErrPassphraseEmpty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			err := vault.CreateKeyring(path, []byte(tc.pass))
			if err == nil || !strings.Contains(err.Error(), "at least 12 characters") {
				t.Fatalf("CreateKeyring(%q) = %v; want a passphrase-length error", tc.pass, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a file was written for a refused passphrase: %v", err)
			}
		})
	}
	t.Run("OKPassphrase12", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keyring.json")
		if err := vault.CreateKeyring(path, []byte("twelve chars")); err != nil {
			t.Fatalf("CreateKeyring with 12 characters: %v", err)
		}
		if _, err := vault.OpenKeyring(path, []byte("twelve chars")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrNoDir", func(t *testing.T) {
		if err := vault.CreateKeyring(filepath.Join(t.TempDir(), "no", "keyring.json"), []byte(testPassphrase)); err == nil {
			t.Fatal("CreateKeyring succeeded in a missing directory")
		}
	})
}

func TestKeyringFile(t *testing.T) {
	kr, path := newKeyring(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OKMode", func(t *testing.T) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Fatalf("mode = %#o, want 0600", m)
		}
	})
	t.Run("OKNoPassphrase", func(t *testing.T) {
		if bytes.Contains(b, []byte(testPassphrase)) || bytes.Contains(b, []byte("horse")) {
			t.Fatal("the keyring file holds the passphrase")
		}
	})
	t.Run("OKNoIndexKey", func(t *testing.T) {
		key := kr.IndexKey()
		for _, enc := range []string{
			base64.StdEncoding.EncodeToString(key),
			base64.RawStdEncoding.EncodeToString(key),
			base64.URLEncoding.EncodeToString(key),
			base64.StdEncoding.EncodeToString(key[:12]), // a prefix, 16 characters, aligned
			hex.EncodeToString(key),
		} {
			if bytes.Contains(b, []byte(enc)) {
				t.Fatalf("the keyring file holds the index key (%s)", enc)
			}
		}
		if bytes.Contains(b, key) {
			t.Fatal("the keyring file holds the raw index key")
		}
	})
	t.Run("OKShape", func(t *testing.T) {
		var f struct {
			Format string `json:"format"`
			KDF    struct {
				Alg       string `json:"alg"`
				Time      uint32 `json:"time"`
				MemoryKiB uint32 `json:"memory_kib"`
				Threads   uint8  `json:"threads"`
				Salt      []byte `json:"salt"`
			} `json:"kdf"`
			Nonce  []byte `json:"nonce"`
			Sealed []byte `json:"sealed"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Format != "amane-keyring-v1" || f.KDF.Alg != "argon2id" || f.KDF.Time != 3 || f.KDF.MemoryKiB != 64*1024 ||
			f.KDF.Threads == 0 || len(f.KDF.Salt) != 16 || len(f.Nonce) != 12 {
			t.Fatalf("unexpected keyring header: %+v", f)
		}
		// The sealed payload holds at least the two 32-byte keys, base64-encoded in JSON, and a tag.
		if len(f.Sealed) < 2*44+16 {
			t.Fatalf("sealed payload is only %d bytes", len(f.Sealed))
		}
	})
	t.Run("OKDistinctFiles", func(t *testing.T) { // fresh salt, nonce and keys for every keyring
		other, p2 := newKeyring(t)
		b2, err := os.ReadFile(p2)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(b, b2) || bytes.Equal(kr.IndexKey(), other.IndexKey()) {
			t.Fatal("two new keyrings are alike")
		}
	})
}

func TestKeyringWrap(t *testing.T) {
	kr, _ := newKeyring(t)
	dek := bytes.Repeat([]byte{0xab}, 32)
	w, err := kr.Wrap(1, dek, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if len(w) != 12+32+16 {
			t.Fatalf("len(wrapped) = %d, want 12+32+16", len(w))
		}
		if bytes.Contains(w, dek[:8]) {
			t.Fatal("the wrapped key holds the key")
		}
		got, err := kr.Unwrap(1, w, []byte("ad"))
		if err != nil || !bytes.Equal(vault.UnwrappedBytes(got), dek) {
			t.Fatalf("Unwrap = %x, %v", got, err)
		}
	})
	t.Run("ErrWrapVersion", func(t *testing.T) {
		if _, err := kr.Wrap(2, dek, nil); err == nil {
			t.Fatal("Wrap under a missing version succeeded")
		}
	})
	for _, tc := range []struct {
		name    string
		version uint32
		wrapped []byte
		ad      string
	}{
		{"ErrVersion", 0, w, "ad"},
		{"ErrAD", 1, w, "ae"},
		{"ErrShort", 1, w[:27], "ad"},
		{"ErrTruncated", 1, w[:len(w)-1], "ad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := kr.Unwrap(tc.version, tc.wrapped, []byte(tc.ad)); err == nil || got != nil {
				t.Fatalf("Unwrap = %x, %v; want an error", got, err)
			}
		})
	}
}

// checkFile asserts that the keyring file at path has mode 0600 and no temporary file lies beside it.
func checkFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("mode = %#o, want 0600", m)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("files beside the keyring: %v", entries)
	}
}

func mustUnwrap(t *testing.T, kr *vault.Keyring, v uint32, w []byte) {
	t.Helper()
	dek, err := kr.Unwrap(v, w, []byte("ad"))
	if err != nil || !bytes.Equal(vault.UnwrappedBytes(dek), bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("Unwrap(%d) = %x, %v", v, dek, err)
	}
}

func mustWrap(t *testing.T, kr *vault.Keyring, v uint32) []byte {
	t.Helper()
	w, err := kr.Wrap(v, bytes.Repeat([]byte{0xab}, 32), []byte("ad"))
	if err != nil {
		t.Fatalf("Wrap(%d): %v", v, err)
	}
	return w
}

func openKeyring(t *testing.T, path string) *vault.Keyring {
	t.Helper()
	kr, err := vault.OpenKeyring(path, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func checkVersions(t *testing.T, kr *vault.Keyring, want []uint32) {
	t.Helper()
	if vs, c := kr.Versions(), kr.CurrentVersion(); !slices.Equal(vs, want) || c != slices.Max(want) {
		t.Fatalf("Versions() = %v, CurrentVersion() = %d; want %v", vs, c, want)
	}
}

func TestKeyringVersions(t *testing.T) {
	kr, path := newKeyring(t)
	other := openKeyring(t, path) // opened before the changes, refreshed explicitly
	lazy := openKeyring(t, path)  // opened before the changes, refreshed by Unwrap
	w1 := mustWrap(t, kr, 1)
	v, err := kr.AddVersion()
	if err != nil || v != 2 {
		t.Fatalf("AddVersion = %d, %v; want 2", v, err)
	}
	checkVersions(t, kr, []uint32{1, 2})
	checkFile(t, path)
	mustUnwrap(t, kr, 1, w1)
	w2 := mustWrap(t, kr, 2)
	mustUnwrap(t, kr, 2, w2)
	if _, err := kr.Unwrap(1, w2, []byte("ad")); err == nil {
		t.Fatal("a key wrapped under version 2 unwrapped under version 1")
	}

	t.Run("OKReopen", func(t *testing.T) {
		again := openKeyring(t, path)
		checkVersions(t, again, []uint32{1, 2})
		if !bytes.Equal(again.IndexKey(), kr.IndexKey()) {
			t.Fatal("AddVersion changed the index key")
		}
		mustUnwrap(t, again, 1, w1)
		mustUnwrap(t, again, 2, w2)
	})
	t.Run("OKRefresh", func(t *testing.T) {
		checkVersions(t, other, []uint32{1})
		if err := other.Refresh(); err != nil {
			t.Fatal(err)
		}
		checkVersions(t, other, []uint32{1, 2})
		mustUnwrap(t, other, 2, w2)
		if err := other.Refresh(); err != nil { // unchanged file
			t.Fatal(err)
		}
	})
	t.Run("OKUnwrapRefreshes", func(t *testing.T) {
		checkVersions(t, lazy, []uint32{1})
		mustUnwrap(t, lazy, 2, w2)
		checkVersions(t, lazy, []uint32{1, 2})
	})
	t.Run("OKRefreshThrottled", func(t *testing.T) { // a second unknown version within a second: no re-read
		// Prepare the next file on a copy, so that installing it takes no key derivation.
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cp := filepath.Join(t.TempDir(), "keyring.json")
		if err := os.WriteFile(cp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		next := openKeyring(t, cp)
		if v, err := next.AddVersion(); err != nil || v != 3 {
			t.Fatalf("AddVersion = %d, %v; want 3", v, err)
		}
		w3 := mustWrap(t, next, 3)
		if b, err = os.ReadFile(cp); err != nil {
			t.Fatal(err)
		}
		if _, err := lazy.Unwrap(7, w3, []byte("ad")); err == nil { // re-reads: nothing changed
			t.Fatal("Unwrap of an unknown version succeeded")
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := lazy.Unwrap(3, w3, []byte("ad")); err == nil {
			t.Skip("more than a second passed since the last re-read") // a slow machine: not a failure
		}
		if err := lazy.Refresh(); err != nil {
			t.Fatal(err)
		}
		mustUnwrap(t, lazy, 3, w3)
		if err := kr.Refresh(); err != nil {
			t.Fatal(err)
		}
		checkVersions(t, kr, []uint32{1, 2, 3})
	})
	t.Run("ErrRemoveCurrent", func(t *testing.T) {
		before, _ := os.ReadFile(path)
		err := kr.RemoveVersion(kr.CurrentVersion())
		if err == nil || !strings.Contains(err.Error(), "current") {
			t.Fatalf("RemoveVersion(current) = %v; want a refusal", err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatal("a refused RemoveVersion rewrote the file")
		}
	})
	t.Run("ErrRemoveMissing", func(t *testing.T) {
		if err := kr.RemoveVersion(9); err == nil || !strings.Contains(err.Error(), "no KEK version 9") {
			t.Fatalf("RemoveVersion(9) = %v", err)
		}
	})
	t.Run("OKRemove", func(t *testing.T) {
		if err := kr.RemoveVersion(1); err != nil {
			t.Fatal(err)
		}
		checkVersions(t, kr, []uint32{2, 3})
		checkFile(t, path)
		if dek, err := kr.Unwrap(1, w1, []byte("ad")); err == nil || dek != nil {
			t.Fatal("a key wrapped under a removed version unwrapped")
		}
		mustUnwrap(t, kr, 2, w2)
		checkVersions(t, openKeyring(t, path), []uint32{2, 3})
		if err := kr.RemoveVersion(1); err == nil {
			t.Fatal("removing a removed version succeeded")
		}
		if err := other.Refresh(); err != nil {
			t.Fatal(err)
		}
		checkVersions(t, other, []uint32{2, 3})
		if _, err := other.Unwrap(1, w1, []byte("ad")); err == nil {
			t.Fatal("another handle unwrapped under a removed version after Refresh")
		}
	})
	t.Run("OKStaleHandleKeepsVersions", func(t *testing.T) { // AddVersion re-reads the file first
		stale := openKeyring(t, path)
		if v, err := kr.AddVersion(); err != nil || v != 4 {
			t.Fatalf("AddVersion = %d, %v; want 4", v, err)
		}
		w4 := mustWrap(t, kr, 4)
		if v, err := stale.AddVersion(); err != nil || v != 5 {
			t.Fatalf("AddVersion on a stale handle = %d, %v; want 5", v, err)
		}
		checkVersions(t, stale, []uint32{2, 3, 4, 5})
		again := openKeyring(t, path)
		checkVersions(t, again, []uint32{2, 3, 4, 5})
		mustUnwrap(t, again, 4, w4)
		checkFile(t, path)
	})
}

func TestKeyringRefreshErrors(t *testing.T) {
	kr, path := newKeyring(t)
	w1 := mustWrap(t, kr, 1)
	t.Run("ErrOtherKeyring", func(t *testing.T) { // same passphrase, another index key: refused
		_, p2 := newKeyring(t)
		b, err := os.ReadFile(p2)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := kr.Refresh(); err == nil || !strings.Contains(err.Error(), "another index key") {
			t.Fatalf("Refresh = %v; want an index-key error", err)
		}
		if _, err := kr.AddVersion(); err == nil {
			t.Fatal("AddVersion rewrote another keyring")
		}
		checkVersions(t, kr, []uint32{1})
		mustUnwrap(t, kr, 1, w1) // the keys in memory remain
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := kr.Refresh(); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Refresh = %v; want ErrNotExist", err)
		}
		if _, err := kr.Unwrap(2, w1, []byte("ad")); err == nil {
			t.Fatal("Unwrap of an unknown version succeeded")
		}
		mustUnwrap(t, kr, 1, w1)
	})
}

func TestKeyringConcurrent(t *testing.T) {
	kr, path := newKeyring(t)
	other := openKeyring(t, path)
	w1 := mustWrap(t, kr, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				v := kr.CurrentVersion()
				w, err := kr.Wrap(v, bytes.Repeat([]byte{0xab}, 32), []byte("ad"))
				if err == nil {
					_, err = kr.Unwrap(v, w, []byte("ad"))
				}
				if err == nil {
					_, err = other.Unwrap(1, w1, []byte("ad"))
				}
				if err == nil && i%50 == 0 {
					_ = kr.Versions()
					err = other.Refresh()
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d, round %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 2 {
			if _, err := kr.AddVersion(); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkVersions(t, kr, []uint32{1, 2, 3})
}
