// Package vault seals personal fields before they reach any store and computes the blind indexes that
// let the registry find a record without holding its identifiers in clear. It knows nothing of the
// registry: it speaks of subjects, fields and byte strings.
//
// Key hierarchy (docs/architecture.md draws it):
//
//	passphrase ──Argon2id──▶ keyring file key ──AES-256-GCM──▶ keyring file
//	                                                               ├── KEK v1, v2, … (key-encryption keys, versioned)
//	                                                               └── index key (blind indexes, HMAC-SHA256)
//	KEK vN ──AES-256-GCM──▶ data key (DEK), one per subject (an insured person, an employer), stored wrapped
//	DEK    ──AES-256-GCM──▶ each personal field of that subject
//
// Field ciphertext: 0x01 ‖ AES-256-GCM(DEK, nonce(field), plaintext, ad), where the associated data
// ad = "amane/field/v1" ‖ 0x00 ‖ subject ‖ 0x00 ‖ field. A ciphertext copied into another row (another
// subject) or another column (another field) therefore fails authentication.
//
// Nonces are not stored: nonce(field) = SHA-256("amane/nonce/v1" ‖ field)[:12], the deterministic
// construction of NIST SP 800-38D §8.2.1 with the field as the fixed field. It is safe because a data
// key seals each field at most once: a DataKey made by NewDataKey refuses a second Seal of a field,
// and one unwrapped by an Opener cannot seal at all — changing a record means a fresh data key. That
// rule saves 12 bytes a field (a random nonce), a third of encryption's cost in store size.
//
// Wrapped data key: AES-256-GCM(KEK vN, nonce, DEK, "amane/dek/v1" ‖ 0x00 ‖ subject), stored with N.
// Destroying one wrapped DEK makes that subject's fields unrecoverable (per-person erasure); rotating
// a KEK rewraps small blobs and never touches the fields.
//
// Blind index: HMAC-SHA256(index key, "amane/index/v1" ‖ 0x00 ‖ kind ‖ 0x00 ‖ normalized value),
// truncated to 16 bytes (vectors-v1.json pins it). It allows equality lookups only. Low-entropy values
// (a CIN, a phone) can be brute-forced by whoever holds the index key, which is why that key lives in
// the keyring with the KEKs and never in the store.
//
// Opening a field requires an *Opener, which only the gate creates: see NewOpener.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"
)

// Domain-separation labels. Changing one makes every existing ciphertext unreadable.
const (
	labelField = "amane/field/v1"
	labelDEK   = "amane/dek/v1"
	labelIndex = "amane/index/v1"
)

// formatV1 is the first byte of every field ciphertext.
const formatV1 = 0x01

const labelNonce = "amane/nonce/v1"

// ErrReseal is returned when a data key is asked to seal a field it sealed already, or to seal at all
// after being unwrapped: the nonce would repeat. Seal a changed record under a fresh data key.
var ErrReseal = errors.New("vault: a data key seals each field once; use a fresh data key (NewDataKey) to seal again")

// IndexSize is the length of a blind index in bytes: 128 bits, far beyond any collision at 4 M people
// while halving the index size of a full SHA-256.
const IndexSize = 16

// ErrOpen is returned when a ciphertext does not authenticate under the subject and field it is opened
// for: it was altered, or moved from another record or column.
var ErrOpen = errors.New("vault: ciphertext does not belong to this record and field, or was altered")

// KeyWrapper holds the key-encryption keys. The sealed keyring file implements it, and so does an HSM
// (vault/hsm, PKCS#11). Wrap always uses the current version; Unwrap any version still held.
//
// Unwrap hands the data key to the vault as an *UnwrappedKey, which only this package can read: a
// holder of a KeyWrapper or a Custody (keys/, cmd/amane) never holds a data key in clear. Rotation
// rewraps through the vault (Vault.Rewrap), which keeps the key inside.
type KeyWrapper interface {
	CurrentVersion() uint32
	Wrap(version uint32, dek, ad []byte) ([]byte, error)
	Unwrap(version uint32, wrapped, ad []byte) (*UnwrappedKey, error)
}

// UnwrappedKey is a data key a KeyWrapper unwrapped, on its way into the vault. Bytes go in
// (NewUnwrappedKey) and never come out: it has no exported field, and no exported function or method
// of vault or vault/hsm returns a data key's bytes (TestNoDataKeyLeaves checks the exported API).
type UnwrappedKey struct{ b []byte }

// NewUnwrappedKey hands key to the vault, for a KeyWrapper implemented outside this package
// (vault/hsm). It takes key: the caller must neither keep nor use it afterwards; the vault clears it
// once it has made the key's cipher.
func NewUnwrappedKey(key []byte) *UnwrappedKey { return &UnwrappedKey{b: key} }

// unwrap returns the bytes of the data key wrapped under version, for the vault's own use only; the
// caller clears them.
func (v *Vault) unwrap(version uint32, wrapped, ad []byte) ([]byte, error) {
	u, err := v.kek.Unwrap(version, wrapped, ad)
	if err != nil {
		return nil, err
	}
	if u == nil || len(u.b) == 0 {
		return nil, errors.New("vault: the key wrapper returned no key")
	}
	return u.b, nil
}

// Custody is a KeyWrapper whose versions can be listed, added and removed: the sealed keyring file
// and the HSM.
type Custody interface {
	KeyWrapper
	Versions() []uint32
	AddVersion() (uint32, error)
	RemoveVersion(v uint32) error
	Refresh() error
}

// Vault seals fields and computes blind indexes. It is safe for concurrent use.
type Vault struct {
	kek      KeyWrapper
	indexKey []byte
	aead     func(key []byte) (cipher.AEAD, error) // a data key's cipher: newAEAD (AES-256-GCM)
	macs     sync.Pool
}

// New returns a vault over the given key-encryption keys and blind-index key, sealing with
// AES-256-GCM and indexing with HMAC-SHA256.
func New(kek KeyWrapper, indexKey []byte) (*Vault, error) {
	return NewWithPrimitives(kek, indexKey, Primitives{})
}

// Primitives are the constructions a vault is built on: the cipher a data key seals fields with, made
// from its 32 bytes (AES-256-GCM), and the MAC of blind indexes, made from the index key
// (HMAC-SHA256). A nil field means the default.
//
// Only `amane bench` passes others (bench/internal/baseline: a cipher and a MAC that copy), to measure
// what encryption costs through this very code — the same key generation, wrapping, formats, pooling
// and checks, with nothing in the vault that tells the two apart. TestBaselineOnlyInBench (gate)
// fails if any other non-test package calls NewWithPrimitives.
type Primitives struct {
	AEAD func(key []byte) (cipher.AEAD, error)
	MAC  func(key []byte) hash.Hash
}

// NewWithPrimitives is New over other primitives: see Primitives. Production code calls New.
func NewWithPrimitives(kek KeyWrapper, indexKey []byte, p Primitives) (*Vault, error) {
	if kek == nil {
		return nil, errors.New("vault: no key-encryption keys")
	}
	if len(indexKey) != 32 {
		return nil, errors.New("vault: the index key must be 32 bytes")
	}
	if p.AEAD == nil {
		p.AEAD = newAEAD
	}
	if p.MAC == nil {
		p.MAC = func(key []byte) hash.Hash { return hmac.New(sha256.New, key) }
	}
	v := &Vault{kek: kek, indexKey: append([]byte(nil), indexKey...), aead: p.AEAD}
	v.macs.New = func() any { return &mac{h: p.MAC(v.indexKey)} }
	return v, nil
}

// DataKey is one subject's data-encryption key, ready to seal (and, once unwrapped by an Opener, open)
// that subject's fields. A DataKey serves one goroutine at a time.
type DataKey struct {
	subject string
	aead    cipher.AEAD // the vault's cipher (AES-256-GCM) under this key
	ad      []byte      // labelField ‖ 0x00 ‖ subject ‖ 0x00: each field's associated data starts so
	canSeal bool        // made by NewDataKey, not unwrapped
	sealed  []string    // fields sealed so far (a record has a handful): each at most once
	scratch []byte      // reused for associated data and plaintext bytes: the AEAD interface makes them escape
}

func newDataKey(subject string, a cipher.AEAD, canSeal bool) *DataKey {
	k := &DataKey{subject: subject, aead: a, canSeal: canSeal}
	k.ad = append(append(append(append(make([]byte, 0, len(labelField)+len(subject)+24), labelField...), 0), subject...), 0)
	return k
}

// Subject returns the subject the key belongs to.
func (k *DataKey) Subject() string { return k.subject }

// fieldNonce returns nonce(field) = SHA-256(labelNonce ‖ field)[:12].
func fieldNonce(dst *[12]byte, field string) {
	h := sha256.New()
	h.Write([]byte(labelNonce))
	h.Write([]byte(field))
	var sum [sha256.Size]byte
	copy(dst[:], h.Sum(sum[:0]))
}

// NewDataKey creates a fresh data key for subject and returns it with its wrapped form and the KEK
// version that wrapped it.
func (v *Vault) NewDataKey(subject string) (*DataKey, uint32, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, 0, nil, err
	}
	ver := v.kek.CurrentVersion()
	wrapped, err := v.kek.Wrap(ver, raw, dekAD(subject))
	if err != nil {
		return nil, 0, nil, err
	}
	a, err := v.aead(raw)
	if err != nil {
		return nil, 0, nil, err
	}
	clear(raw)
	return newDataKey(subject, a, true), ver, wrapped, nil
}

func dekAD(subject string) []byte {
	ad := make([]byte, 0, len(labelDEK)+1+len(subject))
	ad = append(ad, labelDEK...)
	ad = append(ad, 0)
	return append(ad, subject...)
}

// fieldAD appends the associated data of one field to dst: labelField ‖ 0x00 ‖ subject ‖ 0x00 ‖ field.
func (k *DataKey) fieldAD(dst []byte, field string) []byte {
	return append(append(dst, k.ad...), field...)
}

// AES-256-GCM: hardware-accelerated on every server CPU Amane targets, and in the standard library.
// Wrapping uses random 96-bit nonces (a KEK wraps millions of keys, far below GCM's 2^32 bound);
// fields use per-field nonces under single-use data keys (see the package doc).
func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Seal encrypts one field of the key's subject. An empty plaintext seals to nil: an absent field stays
// absent (its absence is not personal data) and costs nothing. Each field can be sealed once per data
// key (ErrReseal otherwise).
func (k *DataKey) Seal(field, plaintext string) ([]byte, error) {
	if !k.canSeal || slices.Contains(k.sealed, field) {
		return nil, fmt.Errorf("%w (field %s of %s)", ErrReseal, field, k.subject)
	}
	k.sealed = append(k.sealed, field)
	if plaintext == "" {
		return nil, nil
	}
	var nonce [12]byte
	fieldNonce(&nonce, field)
	out := make([]byte, 1, 1+len(plaintext)+k.aead.Overhead())
	out[0] = formatV1
	k.scratch = k.fieldAD(k.scratch[:0], field)
	n := len(k.scratch)
	k.scratch = append(k.scratch, plaintext...)
	out = k.aead.Seal(out, nonce[:], k.scratch[n:], k.scratch[:n])
	clear(k.scratch[n:])
	return out, nil
}

// open decrypts one field; it is unexported so that only an Opener's caller can reach plaintext.
func (k *DataKey) open(field string, ct []byte) (string, error) {
	if len(ct) == 0 {
		return "", nil
	}
	if len(ct) < 1+k.aead.Overhead() || ct[0] != formatV1 {
		return "", fmt.Errorf("%w (field %s of %s: malformed ciphertext)", ErrOpen, field, k.subject)
	}
	var nonce [12]byte
	fieldNonce(&nonce, field)
	k.scratch = k.fieldAD(k.scratch[:0], field)
	pt, err := k.aead.Open(nil, nonce[:], ct[1:], k.scratch)
	if err != nil {
		return "", fmt.Errorf("%w (field %s of %s)", ErrOpen, field, k.subject)
	}
	return string(pt), nil
}

// Index returns the blind index of a normalized value of the given kind ("cin", "imm", "rib", …).
// Different kinds never collide: the kind is part of the MAC input.
func (v *Vault) Index(kind, normalized string) []byte {
	if normalized == "" {
		return nil
	}
	m := v.macs.Get().(*mac)
	m.buf = append(append(append(append(append(m.buf[:0], labelIndex...), 0), kind...), 0), normalized...)
	m.h.Reset()
	m.h.Write(m.buf)
	m.sum = m.h.Sum(m.sum[:0])
	out := append([]byte(nil), m.sum[:IndexSize]...)
	clear(m.buf)
	v.macs.Put(m)
	return out
}

// mac is a pooled HMAC with its scratch buffers, so that an index costs one allocation: its result.
type mac struct {
	h   hash.Hash
	buf []byte
	sum []byte
}

// Opener unwraps data keys and opens fields. It is the capability to read personal data: only the gate
// constructs one (TestOnlyGateOpens, in package gate, fails if any other package reaches NewOpener,
// the Opener or its methods, judged on resolved types: an alias or a method value does not hide it).
type Opener struct{ v *Vault }

// NewOpener returns the capability to open v's ciphertexts. Call it from package gate only.
func NewOpener(v *Vault) *Opener { return &Opener{v: v} }

// Unwrap returns the data key of subject from its wrapped form.
func (o *Opener) Unwrap(subject string, version uint32, wrapped []byte) (*DataKey, error) {
	if len(wrapped) == 0 {
		return nil, fmt.Errorf("vault: no data key for %s (erased?)", subject)
	}
	raw, err := o.v.unwrap(version, wrapped, dekAD(subject))
	if err != nil {
		return nil, fmt.Errorf("vault: data key of %s does not unwrap: %w", subject, err)
	}
	a, err := o.v.aead(raw)
	clear(raw)
	if err != nil {
		return nil, err
	}
	return newDataKey(subject, a, false), nil
}

// Open decrypts one field sealed under k. It fails with ErrOpen when the ciphertext belongs to another
// subject or field, or was altered.
func (o *Opener) Open(k *DataKey, field string, ct []byte) (string, error) { return k.open(field, ct) }

// Rewrap re-seals a subject's wrapped data key under the current KEK version, for rotation. The data
// key stays inside the vault: rewrapping opens no field.
func (v *Vault) Rewrap(subject string, version uint32, wrapped []byte) (uint32, []byte, error) {
	ad := dekAD(subject)
	raw, err := v.unwrap(version, wrapped, ad)
	if err != nil {
		return 0, nil, err
	}
	defer clear(raw)
	cur := v.kek.CurrentVersion()
	out, err := v.kek.Wrap(cur, raw, ad)
	return cur, out, err
}
