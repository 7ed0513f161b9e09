package vault_test

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amane/vault"
)

const testPassphrase = "correct horse battery staple"

// newKeyring creates a keyring in a fresh temporary directory and opens it.
func newKeyring(t testing.TB) (*vault.Keyring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := vault.CreateKeyring(path, []byte(testPassphrase)); err != nil {
		t.Fatalf("CreateKeyring: %v", err)
	}
	kr, err := vault.OpenKeyring(path, []byte(testPassphrase))
	if err != nil {
		t.Fatalf("OpenKeyring: %v", err)
	}
	return kr, path
}

func newVault(t testing.TB) *vault.Vault {
	t.Helper()
	kr, _ := newKeyring(t)
	v, err := vault.FromKeyring(kr)
	if err != nil {
		t.Fatalf("FromKeyring: %v", err)
	}
	return v
}

// subjectKey creates a data key for subject and returns the sealing key and the key unwrapped again
// from its wrapped form, as a reader would get it.
func subjectKey(t *testing.T, v *vault.Vault, subject string) (seal, open *vault.DataKey) {
	t.Helper()
	k, ver, wrapped, err := v.NewDataKey(subject)
	if err != nil {
		t.Fatalf("NewDataKey(%s): %v", subject, err)
	}
	if k.Subject() != subject {
		t.Fatalf("Subject() = %q, want %q", k.Subject(), subject)
	}
	if ver != 1 {
		t.Fatalf("version = %d, want 1 on a new keyring", ver)
	}
	u, err := vault.NewOpener(v).Unwrap(subject, ver, wrapped)
	if err != nil {
		t.Fatalf("Unwrap(%s): %v", subject, err)
	}
	return k, u
}

func TestSealOpen(t *testing.T) {
	v := newVault(t)
	o := vault.NewOpener(v)
	for _, tc := range []struct{ name, value string }{
		{"OKEmpty", ""},
		{"OKASCII", "BK123456"},
		{"OKAccented", "Saïd Aït-Benhaddou, Fès — é à ç ئ"},
		{"OK1KiB", strings.Repeat("0123456789abcdef", 64)},
		{"OKNUL", "a\x00b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, u := subjectKey(t, v, "employee:1") // a data key seals each field once
			ct, err := k.Seal("nom", tc.value)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if tc.value != "" && bytes.Contains(ct, []byte(tc.value)) {
				t.Fatal("the ciphertext holds the plaintext")
			}
			for _, key := range []*vault.DataKey{u, k} { // the unwrapped key, and the sealing key itself
				got, err := o.Open(key, "nom", ct)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got != tc.value {
					t.Fatalf("Open = %q, want %q", got, tc.value)
				}
			}
		})
	}
}

func TestSealEmptyIsNil(t *testing.T) {
	v := newVault(t)
	k, _ := subjectKey(t, v, "employee:1")
	ct, err := k.Seal("passeport", "")
	if err != nil || ct != nil {
		t.Fatalf("Seal(\"\") = %v, %v; want nil, nil", ct, err)
	}
}

func TestCiphertextLayout(t *testing.T) {
	v := newVault(t)
	for _, n := range []int{1, 15, 16, 17, 1024} {
		t.Run(fmt.Sprintf("OK%d", n), func(t *testing.T) {
			k, _ := subjectKey(t, v, "employer:7")
			ct, err := k.Seal("rib", strings.Repeat("x", n))
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 + n + 16; len(ct) != want { // format byte, body, tag: the nonce is not stored
				t.Errorf("len = %d, want 1+%d+16 = %d", len(ct), n, want)
			}
			if ct[0] != 0x01 {
				t.Errorf("first byte = %#x, want 0x01", ct[0])
			}
		})
	}
}

func TestSealOncePerKey(t *testing.T) {
	v := newVault(t)
	o := vault.NewOpener(v)
	k, u := subjectKey(t, v, "employee:1")
	a, err := k.Seal("cin", "BK123456")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrResealSameField", func(t *testing.T) {
		if _, err := k.Seal("cin", "BK123456"); !errors.Is(err, vault.ErrReseal) {
			t.Fatalf("second Seal of a field: %v, want ErrReseal", err)
		}
	})
	t.Run("ErrSealWithUnwrapped", func(t *testing.T) {
		if _, err := u.Seal("nom", "Tazi"); !errors.Is(err, vault.ErrReseal) {
			t.Fatalf("Seal with an unwrapped key: %v, want ErrReseal", err)
		}
	})
	t.Run("OKOtherFieldSameKey", func(t *testing.T) {
		if _, err := k.Seal("nom", "Tazi"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("FreshKeyDiffers", func(t *testing.T) {
		k2, u2 := subjectKey(t, v, "employee:1")
		b, err := k2.Seal("cin", "BK123456")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a, b) {
			t.Fatal("two data keys sealed the same value identically")
		}
		if got, err := o.Open(u2, "cin", b); err != nil || got != "BK123456" {
			t.Fatalf("Open = %q, %v", got, err)
		}
		if _, err := o.Open(u2, "cin", a); !errors.Is(err, vault.ErrOpen) {
			t.Fatalf("a ciphertext of the old key opened under the new one: %v", err)
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	v := newVault(t)
	o := vault.NewOpener(v)
	k1, u1 := subjectKey(t, v, "employee:1")
	_, u2 := subjectKey(t, v, "employee:2")
	ct, err := k1.Seal("cin", "BK123456")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int, bit byte) []byte {
		c := bytes.Clone(ct)
		c[i] ^= bit
		return c
	}
	cases := []struct {
		name    string
		key     *vault.DataKey
		field   string
		ct      []byte
		subject string
	}{
		{"ErrOtherSubject", u2, "cin", ct, "employee:2"},
		{"ErrOtherField", u1, "nom", ct, "employee:1"},
		{"ErrFieldPrefix", u1, "ci", ct, "employee:1"},
		{"ErrFormatByte", u1, "cin", flip(0, 0x03), "employee:1"},
		{"ErrBodyFirst", u1, "cin", flip(1, 0x80), "employee:1"},
		{"ErrBody", u1, "cin", flip(5, 0x01), "employee:1"},
		{"ErrTag", u1, "cin", flip(len(ct)-1, 0x40), "employee:1"},
		{"ErrTruncatedTag", u1, "cin", ct[:len(ct)-1], "employee:1"},
		{"ErrTruncatedShort", u1, "cin", ct[:1+15], "employee:1"},
		{"ErrTruncatedFormat", u1, "cin", ct[:1], "employee:1"},
		{"ErrExtended", u1, "cin", append(bytes.Clone(ct), 0), "employee:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := o.Open(tc.key, tc.field, tc.ct)
			if err == nil {
				t.Fatalf("Open succeeded with %q", got)
			}
			if got != "" {
				t.Errorf("Open returned %q along with an error", got)
			}
			if !errors.Is(err, vault.ErrOpen) {
				t.Errorf("error %v is not vault.ErrOpen", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "field "+tc.field+" ") || !strings.Contains(msg, tc.subject) {
				t.Errorf("error %q does not name field %q and subject %q", msg, tc.field, tc.subject)
			}
			if strings.Contains(msg, "BK123456") {
				t.Errorf("error %q holds the plaintext", msg)
			}
		})
	}
	t.Run("ErrEveryBit", func(t *testing.T) {
		for i := range ct {
			for bit := 0; bit < 8; bit++ {
				if got, err := o.Open(u1, "cin", flip(i, 1<<bit)); !errors.Is(err, vault.ErrOpen) {
					t.Fatalf("flipping bit %d of byte %d: Open = %q, %v; want vault.ErrOpen", bit, i, got, err)
				}
			}
		}
	})
}

func TestUnwrap(t *testing.T) {
	v := newVault(t)
	o := vault.NewOpener(v)
	_, ver, wrapped, err := v.NewDataKey("employee:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if _, err := o.Unwrap("employee:1", ver, wrapped); err != nil {
			t.Fatal(err)
		}
	})
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name    string
		subject string
		ver     uint32
		wrapped []byte
		want    string
	}{
		{"ErrOtherSubject", "employee:2", ver, wrapped, "employee:2"},
		{"ErrSubjectPrefix", "employee:", ver, wrapped, "does not unwrap"},
		{"ErrUnknownVersion", "employee:1", ver + 1, wrapped, "no KEK version 2"},
		{"ErrAltered", "employee:1", ver, flipped, "does not unwrap"},
		{"ErrTruncated", "employee:1", ver, wrapped[:27], "does not unwrap"},
		{"ErrErased", "employee:1", ver, nil, "no data key for employee:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := o.Unwrap(tc.subject, tc.ver, tc.wrapped)
			if err == nil || k != nil {
				t.Fatalf("Unwrap = %v, %v; want an error", k, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	t.Run("ErrOtherVault", func(t *testing.T) {
		other := newVault(t)
		if _, err := vault.NewOpener(other).Unwrap("employee:1", ver, wrapped); err == nil {
			t.Fatal("a data key unwrapped under another keyring")
		}
	})
}

func TestIndex(t *testing.T) {
	v := newVault(t)
	w := newVault(t)
	a := v.Index("cin", "BK123456")
	t.Run("OKDeterministic", func(t *testing.T) {
		if b := v.Index("cin", "BK123456"); !bytes.Equal(a, b) {
			t.Fatalf("Index differs between calls: %x, %x", a, b)
		}
	})
	t.Run("OKSize", func(t *testing.T) {
		if len(a) != vault.IndexSize || vault.IndexSize != 16 {
			t.Fatalf("len = %d, IndexSize = %d; want 16", len(a), vault.IndexSize)
		}
	})
	t.Run("OKNotValue", func(t *testing.T) {
		if bytes.Contains(a, []byte("BK12")) {
			t.Fatalf("index %x holds the value", a)
		}
	})
	t.Run("OKOtherValue", func(t *testing.T) {
		if b := v.Index("cin", "BK123457"); bytes.Equal(a, b) {
			t.Fatal("two values share an index")
		}
	})
	t.Run("OKOtherKind", func(t *testing.T) {
		if b := v.Index("imm", "BK123456"); bytes.Equal(a, b) {
			t.Fatal("two kinds share an index for one value")
		}
		// the separator keeps kind and value apart
		if b, c := v.Index("ci", "nBK123456"), v.Index("cinB", "K123456"); bytes.Equal(a, b) || bytes.Equal(a, c) {
			t.Fatal("moving the kind/value boundary keeps the index")
		}
	})
	t.Run("OKOtherKeyring", func(t *testing.T) {
		if b := w.Index("cin", "BK123456"); bytes.Equal(a, b) {
			t.Fatal("two keyrings give the same index")
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		if b := v.Index("cin", ""); len(b) != 0 {
			t.Fatalf("Index of an empty value = %x, want empty", b)
		}
	})
	t.Run("OKNotAliased", func(t *testing.T) {
		b := v.Index("cin", "BK123456")
		b[0] ^= 0xff
		if c := v.Index("cin", "BK123456"); !bytes.Equal(a, c) {
			t.Fatal("changing a returned index changes the next one")
		}
	})
}

// TestIndexConcurrent checks that the pooled MACs give every caller its own, correct index.
func TestIndexConcurrent(t *testing.T) {
	v := newVault(t)
	want := make([][]byte, 64)
	for i := range want {
		want[i] = v.Index("cin", fmt.Sprintf("A%d", i))
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for n := 0; n < 200; n++ {
				i := (n*7 + g) % len(want)
				if got := v.Index("cin", fmt.Sprintf("A%d", i)); !bytes.Equal(got, want[i]) {
					errs <- fmt.Errorf("index of A%d = %x, want %x", i, got, want[i])
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestNew(t *testing.T) {
	kr, _ := newKeyring(t)
	for _, tc := range []struct {
		name string
		kek  vault.KeyWrapper
		key  []byte
	}{
		{"ErrNoKEK", nil, make([]byte, 32)},
		{"ErrShortIndexKey", kr, make([]byte, 31)},
		{"ErrLongIndexKey", kr, make([]byte, 33)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := vault.New(tc.kek, tc.key); err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
		})
	}
	t.Run("OKIndexKeyCopied", func(t *testing.T) {
		key := bytes.Repeat([]byte{7}, 32)
		v, err := vault.New(kr, key)
		if err != nil {
			t.Fatal(err)
		}
		a := v.Index("cin", "A1")
		key[0] = 8
		if b := v.Index("cin", "A1"); !bytes.Equal(a, b) {
			t.Fatal("the vault keeps the caller's index key slice")
		}
	})
}

// copyAEAD and sumMAC stand for other primitives: the vault must seal and index through them, in its
// own formats, with nothing else changed.
type copyAEAD struct{}

func (copyAEAD) NonceSize() int                            { return 12 }
func (copyAEAD) Overhead() int                             { return 0 }
func (copyAEAD) Seal(dst, _, pt, _ []byte) []byte          { return append(dst, pt...) }
func (copyAEAD) Open(dst, _, ct, _ []byte) ([]byte, error) { return append(dst, ct...), nil }
func copyCipher(key []byte) (cipher.AEAD, error)           { return copyAEAD{}, nil }
func prefixMAC(key []byte) hash.Hash                       { return &prefixHash{} }

// prefixHash's sum is the first 32 bytes written, zero-padded.
type prefixHash struct{ b []byte }

func (h *prefixHash) Write(p []byte) (int, error) { h.b = append(h.b, p...); return len(p), nil }
func (h *prefixHash) Sum(b []byte) []byte {
	var s [32]byte
	copy(s[:], h.b)
	return append(b, s[:]...)
}
func (h *prefixHash) Reset()         { h.b = h.b[:0] }
func (h *prefixHash) Size() int      { return 32 }
func (h *prefixHash) BlockSize() int { return 64 }

func TestPrimitives(t *testing.T) {
	kr, _ := newKeyring(t)
	v, err := vault.NewWithPrimitives(kr, kr.IndexKey(), vault.Primitives{AEAD: copyCipher, MAC: prefixMAC})
	if err != nil {
		t.Fatal(err)
	}
	k, ver, wrapped, err := v.NewDataKey("employee:1")
	if err != nil || ver != 1 || len(wrapped) == 0 {
		t.Fatalf("NewDataKey = %d, %x, %v: the data key is still made and wrapped", ver, wrapped, err)
	}
	ct, err := k.Seal("nom", "Benali")
	if err != nil || string(ct) != "\x01Benali" {
		t.Fatalf("Seal = %q, %v; want the format byte and the cipher's output", ct, err)
	}
	if _, err := k.Seal("nom", "Benali"); !errors.Is(err, vault.ErrReseal) {
		t.Fatalf("second Seal: %v, want ErrReseal", err)
	}
	o := vault.NewOpener(v)
	u, err := o.Unwrap("employee:1", ver, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := o.Open(u, "nom", ct); err != nil || got != "Benali" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if got := v.Index("cin", "A1"); string(got) != "amane/index/v1\x00c" {
		t.Fatalf("Index = %q: want the MAC of the labelled input, truncated to %d bytes", got, vault.IndexSize)
	}
	// The default primitives are New's: a field sealed by one opens under the other's opener.
	d, err := vault.NewWithPrimitives(kr, kr.IndexKey(), vault.Primitives{})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := vault.New(kr, kr.IndexKey())
	if err != nil {
		t.Fatal(err)
	}
	k, ver, wrapped, err = d.NewDataKey("employee:2")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ = k.Seal("nom", "Benali")
	u, err = vault.NewOpener(dv).Unwrap("employee:2", ver, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vault.NewOpener(dv).Open(u, "nom", ct); err != nil || got != "Benali" || !bytes.Equal(d.Index("cin", "A1"), dv.Index("cin", "A1")) {
		t.Fatalf("default primitives differ from New's: %q, %v", got, err)
	}
}

// ExampleVault seals one personal field of an insured person and opens it again.
func ExampleVault() {
	dir, err := os.MkdirTemp("", "amane-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keyring.json")
	passphrase := []byte("a long example passphrase")
	if err := vault.CreateKeyring(path, passphrase); err != nil {
		panic(err)
	}
	kr, err := vault.OpenKeyring(path, passphrase)
	if err != nil {
		panic(err)
	}
	v, err := vault.FromKeyring(kr)
	if err != nil {
		panic(err)
	}

	// Writing: a fresh data key for the subject; store wrapped and version with the record.
	k, version, wrapped, err := v.NewDataKey("employee:42")
	if err != nil {
		panic(err)
	}
	ct, err := k.Seal("cin", "BK123456")
	if err != nil {
		panic(err)
	}
	fmt.Printf("ciphertext: %d bytes, format %#02x\n", len(ct), ct[0])

	// Reading (the gate's job): unwrap the subject's key, then open the field.
	o := vault.NewOpener(v)
	dk, err := o.Unwrap("employee:42", version, wrapped)
	if err != nil {
		panic(err)
	}
	cin, err := o.Open(dk, "cin", ct)
	fmt.Println(cin, err)

	// The same ciphertext read as another field fails.
	_, err = o.Open(dk, "nom", ct)
	fmt.Println(errors.Is(err, vault.ErrOpen))
	// Output:
	// ciphertext: 25 bytes, format 0x01
	// BK123456 <nil>
	// true
}
