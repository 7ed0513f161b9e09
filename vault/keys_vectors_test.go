package vault_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"golang.org/x/crypto/argon2"

	"amane/vault"
)

// Known-answer vectors for the key side of the vault (testdata/keyring-v1.json, testdata/keys-v1.json):
// a sealed keyring file with a known passphrase, salt, nonce and payload; data keys wrapped by its KEK
// version 1 (a subject's field key, a history key, a request key) with known nonces; and values
// sealed by history keys (a declared line and a new employee's line) with known nonces. The wrap and
// history seals draw random nonces, so the vault is checked by opening the vectors, and the vectors
// by recomputing them from the documented formats with x/crypto/argon2, crypto/aes and crypto/cipher
// alone:
//
//	keyring: AES-256-GCM(Argon2id(passphrase, salt, 3, 64 MiB, 2), nonce, payload JSON, "amane/keyring/v1")
//	wrapped data key: nonce ‖ AES-256-GCM(KEK vN, nonce, key, "amane/dek/v1" ‖ 0x00 ‖ subject)
//	history seal: 0x02 ‖ nonce ‖ AES-256-GCM(key, nonce, plaintext, "amane/record/v1" ‖ 0x00 ‖ subject ‖ 0x00 ‖ context)
//
// The wrapped employee/42 key is the data key of vectors-v1.json, so the chain keyring → wrapped key →
// field ciphertext is pinned end to end. Regenerate never: add a v2 beside v1.

type keyVectors struct {
	Passphrase  string `json:"passphrase"`
	FileKey     string `json:"keyring_file_key"`
	Payload     string `json:"keyring_payload"`
	KEK         string `json:"kek_v1"`
	IndexKey    string `json:"index_key"`
	WrappedKeys []struct {
		Subject, Key, AD, Wrapped string
		Version                   uint32
	} `json:"wrapped_keys"`
	Records []struct{ Subject, Key, Context, Plaintext, Sealed string } `json:"records"`
}

func readKeyVectors(t *testing.T) keyVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/keys-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v keyVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func gcmOf(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestKeyVectorsV1(t *testing.T) {
	vs := readKeyVectors(t)
	kr, err := vault.OpenKeyring("testdata/keyring-v1.json", []byte(vs.Passphrase))
	if err != nil {
		t.Fatalf("the v1 keyring file does not open: %v", err)
	}
	t.Run("Keyring", func(t *testing.T) {
		if got := hex.EncodeToString(kr.IndexKey()); got != vs.IndexKey {
			t.Errorf("index key %s, the v1 vector is %s", got, vs.IndexKey)
		}
		if kr.CurrentVersion() != 1 || len(kr.Versions()) != 1 {
			t.Errorf("KEK versions %v, current %d: the v1 keyring holds version 1 only", kr.Versions(), kr.CurrentVersion())
		}
		// The documented format, recomputed.
		b, err := os.ReadFile("testdata/keyring-v1.json")
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Format string
			KDF    struct {
				Alg       string
				Time      uint32
				MemoryKiB uint32 `json:"memory_kib"`
				Threads   uint8
				Salt      []byte
			}
			Nonce, Sealed []byte
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Format != "amane-keyring-v1" || f.KDF.Alg != "argon2id" {
			t.Fatalf("keyring file: %+v, %v", f, err)
		}
		key := argon2.IDKey([]byte(vs.Passphrase), f.KDF.Salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 32)
		if hex.EncodeToString(key) != vs.FileKey {
			t.Errorf("Argon2id gives the file key %x, the v1 vector is %s", key, vs.FileKey)
		}
		payload, err := gcmOf(t, key).Open(nil, f.Nonce, f.Sealed, []byte("amane/keyring/v1"))
		if err != nil || string(payload) != vs.Payload {
			t.Errorf("the documented keyring format opens to %q, %v; the v1 payload is %q", payload, err, vs.Payload)
		}
		var p struct {
			Current  uint32            `json:"current"`
			KEKs     map[uint32][]byte `json:"keks"`
			IndexKey []byte            `json:"index_key"`
		}
		if err := json.Unmarshal([]byte(vs.Payload), &p); err != nil || p.Current != 1 ||
			hex.EncodeToString(p.KEKs[1]) != vs.KEK || hex.EncodeToString(p.IndexKey) != vs.IndexKey {
			t.Errorf("payload %+v, %v", p, err)
		}
	})
	t.Run("WrappedKey", func(t *testing.T) {
		kek := unhex(t, vs.KEK)
		for _, w := range vs.WrappedKeys {
			ad, wrapped := unhex(t, w.AD), unhex(t, w.Wrapped)
			if string(ad) != "amane/dek/v1\x00"+w.Subject {
				t.Errorf("%s: the v1 associated data is %q", w.Subject, ad)
			}
			// The keyring unwraps under the associated data the vault binds (through Rewrap, which
			// unwraps with the vault's own associated data and wraps again).
			u, err := kr.Unwrap(w.Version, wrapped, ad)
			var got []byte
			if err == nil {
				got = vault.UnwrappedBytes(u)
			}
			if err != nil || hex.EncodeToString(got) != w.Key {
				t.Errorf("%s: the v1 wrapped key unwraps to %x, %v", w.Subject, got, err)
			}
			v, err := vault.FromKeyring(kr)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := v.Rewrap(w.Subject, w.Version, wrapped); err != nil {
				t.Errorf("%s: the vault does not unwrap the v1 wrapped key: %v", w.Subject, err)
			}
			// nonce ‖ AES-256-GCM(KEK, nonce, key, ad)
			if re := gcmOf(t, kek).Seal(bytes.Clone(wrapped[:12]), wrapped[:12], unhex(t, w.Key), ad); !bytes.Equal(re, wrapped) {
				t.Errorf("%s: the documented format gives %x, the v1 vector is %x", w.Subject, re, wrapped)
			}
		}
		// The chain: the wrapped employee/42 key opens the field ciphertexts of vectors-v1.json.
		fv := readVectors(t)
		v, err := vault.FromKeyring(kr)
		if err != nil {
			t.Fatal(err)
		}
		o := vault.NewOpener(v)
		w := vs.WrappedKeys[0]
		dk, err := o.Unwrap(w.Subject, w.Version, unhex(t, w.Wrapped))
		if err != nil {
			t.Fatalf("%s: %v", w.Subject, err)
		}
		for _, f := range fv.Fields {
			if pt, err := o.Open(dk, f.Field, unhex(t, f.Ciphertext)); err != nil || pt != f.Plaintext {
				t.Errorf("%s: the v1 ciphertext opens to %q, %v", f.Field, pt, err)
			}
		}
	})
	t.Run("HistorySeal", func(t *testing.T) {
		v, err := vault.FromKeyring(kr)
		if err != nil {
			t.Fatal(err)
		}
		o := vault.NewOpener(v)
		wrappedOf := map[string][]byte{}
		for _, w := range vs.WrappedKeys {
			wrappedOf[w.Subject] = unhex(t, w.Wrapped)
		}
		for _, r := range vs.Records {
			sealed, plain := unhex(t, r.Sealed), unhex(t, r.Plaintext)
			h, err := o.UnwrapHistory(r.Subject, 1, wrappedOf[r.Subject])
			if err != nil {
				t.Fatalf("%s: %v", r.Subject, err)
			}
			if got, err := o.OpenRecord(h, r.Context, sealed); err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s %s: the v1 sealed value opens to %x, %v", r.Subject, r.Context, got, err)
			}
			if _, err := o.OpenRecord(h, r.Context+"0", sealed); err == nil {
				t.Errorf("%s: the v1 sealed value opens under another context", r.Subject)
			}
			// 0x02 ‖ nonce ‖ AES-256-GCM(key, nonce, plaintext, "amane/record/v1" ‖ 0x00 ‖ subject ‖ 0x00 ‖ context)
			ad := []byte("amane/record/v1\x00" + r.Subject + "\x00" + r.Context)
			re := gcmOf(t, unhex(t, r.Key)).Seal(bytes.Clone(sealed[:13]), sealed[1:13], plain, ad)
			if sealed[0] != 0x02 || !bytes.Equal(re, sealed) {
				t.Errorf("%s: the documented format gives %x, the v1 vector is %x", r.Subject, re, sealed)
			}
		}
	})
}
