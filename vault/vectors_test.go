package vault_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"amane/vault"
)

// Known-answer vectors for the vault's at-rest formats (testdata/vectors-v1.json): a field
// ciphertext under a known data key (its associated data binds the label, the subject and the field;
// its nonce is derived from the field) and a blind index under a known index key. Each is checked two
// ways: the vault opens (or computes) the stored bytes, and the test recomputes them from the formats
// written in the package doc with crypto/aes and crypto/hmac alone. Every deployed store
// holds these bytes: a change to a domain label, a field's nonce rule or the index input makes these
// tests fail instead of making stores unreadable. Regenerate never; add a v2 file beside v1 when a
// format changes on purpose, and keep reading v1.

// fixedDEK is a KeyWrapper whose every wrapped key unwraps to the same data key, so that a field's
// ciphertext (deterministic for a given key, subject and field) can be pinned.
type fixedDEK struct{ dek []byte }

func (f fixedDEK) CurrentVersion() uint32                      { return 1 }
func (f fixedDEK) Wrap(uint32, []byte, []byte) ([]byte, error) { return []byte("wrapped"), nil }
func (f fixedDEK) Unwrap(uint32, []byte, []byte) (*vault.UnwrappedKey, error) {
	return vault.NewUnwrappedKey(append([]byte(nil), f.dek...)), nil
}

type vectors struct {
	IndexKey string `json:"index_key"`
	DEK      string `json:"dek"`
	Fields   []struct {
		Subject, Field, Plaintext, Ciphertext string
	} `json:"fields"`
	Indexes []struct {
		Kind, Normalized, Index string
	} `json:"indexes"`
}

func readVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsV1(t *testing.T) {
	vs := readVectors(t)
	v, err := vault.New(fixedDEK{unhex(t, vs.DEK)}, unhex(t, vs.IndexKey))
	if err != nil {
		t.Fatal(err)
	}
	o := vault.NewOpener(v)
	t.Run("Field", func(t *testing.T) {
		for _, f := range vs.Fields {
			dk, err := o.Unwrap(f.Subject, 1, []byte("wrapped"))
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, f.Ciphertext)
			if pt, err := o.Open(dk, f.Field, want); err != nil || pt != f.Plaintext {
				t.Errorf("%s %s: the v1 ciphertext opens to %q, %v", f.Subject, f.Field, pt, err)
			}
			// 0x01 ‖ AES-256-GCM(DEK, SHA-256("amane/nonce/v1" ‖ field)[:12], plaintext,
			// "amane/field/v1" ‖ 0x00 ‖ subject ‖ 0x00 ‖ field)
			block, _ := aes.NewCipher(unhex(t, vs.DEK))
			gcm, _ := cipher.NewGCM(block)
			nonce := sha256.Sum256([]byte("amane/nonce/v1" + f.Field))
			ad := []byte("amane/field/v1\x00" + f.Subject + "\x00" + f.Field)
			if got := gcm.Seal([]byte{1}, nonce[:12], []byte(f.Plaintext), ad); !bytes.Equal(got, want) {
				t.Errorf("%s %s: the documented format gives %x, the v1 vector is %x", f.Subject, f.Field, got, want)
			}
		}
	})
	t.Run("Index", func(t *testing.T) {
		for _, x := range vs.Indexes {
			if got := v.Index(x.Kind, x.Normalized); hex.EncodeToString(got) != x.Index {
				t.Errorf("%s %q: index %x, want %s", x.Kind, x.Normalized, got, x.Index)
			}
			// HMAC-SHA256(index key, "amane/index/v1" ‖ 0x00 ‖ kind ‖ 0x00 ‖ value)[:16]
			m := hmac.New(sha256.New, unhex(t, vs.IndexKey))
			m.Write([]byte("amane/index/v1\x00" + x.Kind + "\x00" + x.Normalized))
			if got := hex.EncodeToString(m.Sum(nil)[:vault.IndexSize]); got != x.Index {
				t.Errorf("%s %q: the documented format gives %s, the v1 vector is %s", x.Kind, x.Normalized, got, x.Index)
			}
		}
	})
}
