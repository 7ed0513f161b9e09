package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The CLI opens the keyring at every command, and an in-process test runs hundreds of commands: with
// the 64 MiB, 3-pass Argon2id that `amane init` writes (vault's TestKeyringFile checks it does),
// key derivation was three quarters of this package's CPU time. A test whose passphrase is in
// AMANE_PASSPHRASE therefore has the keyring that an in-process command wrote with init's parameters
// (`amane init`, and a rotation or a reindex, which seal the keyring again) re-sealed at once with the
// cheapest parameters the keyring format accepts (1 pass, 8 MiB): the same file format, the same keys,
// the same code path on every later open. The v1 fixture sets its passphrase by file and keeps the
// parameters v1 wrote.
const (
	cheapKDFTime      = 1
	cheapKDFMemoryKiB = 8 * 1024
	keyringLabel      = "amane/keyring/v1" // the AEAD's associated data, as vault/keyring.go documents
)

// cheapenKeyring re-seals the keyring of `amane args…` (its --keyring, else DIR/keyring.json) if it
// carries init's parameters, the test gives its passphrase in AMANE_PASSPHRASE and the keys are in a
// keyring file (not an HSM).
func cheapenKeyring(t *testing.T, args []string) {
	t.Helper()
	pass := os.Getenv("AMANE_PASSPHRASE")
	if len(args) == 0 || pass == "" {
		return
	}
	var data, keyring string
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "--data", "-data":
			data = args[i+1]
		case "--keyring", "-keyring":
			keyring = args[i+1]
		case "--hsm-module", "-hsm-module", "--passphrase-file", "-passphrase-file":
			return
		}
	}
	if keyring == "" {
		if data == "" {
			return
		}
		keyring = filepath.Join(data, keyringFile)
	}
	b, err := os.ReadFile(keyring)
	if err != nil {
		return // an init that wrote no keyring (it failed, or the test expects none)
	}
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
		t.Fatalf("keyring %s: %v", keyring, err)
	}
	if f.KDF.Time == cheapKDFTime && f.KDF.MemoryKiB == cheapKDFMemoryKiB {
		return
	}
	aead := func(time, mem uint32) cipher.AEAD {
		key := argon2.IDKey([]byte(pass), f.KDF.Salt, time, mem, f.KDF.Threads, 32)
		c, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		a, err := cipher.NewGCM(c)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	payload, err := aead(f.KDF.Time, f.KDF.MemoryKiB).Open(nil, f.Nonce, f.Sealed, []byte(keyringLabel))
	if err != nil {
		t.Fatalf("keyring %s does not open with the test's passphrase: %v", keyring, err)
	}
	f.KDF.Time, f.KDF.MemoryKiB = cheapKDFTime, cheapKDFMemoryKiB
	rand.Read(f.KDF.Salt)
	rand.Read(f.Nonce)
	f.Sealed = aead(f.KDF.Time, f.KDF.MemoryKiB).Seal(nil, f.Nonce, payload, []byte(keyringLabel))
	out, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// Written aside and renamed, as the vault writes it: a server re-reading the keyring meanwhile
	// sees the old file or the new one, never half of one.
	tmp := keyring + ".cheap"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, keyring); err != nil {
		t.Fatal(err)
	}
}
