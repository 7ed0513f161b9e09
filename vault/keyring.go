package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"golang.org/x/crypto/argon2"
)

// Keyring file format (JSON, 0600):
//
//	{"format":"amane-keyring-v1",
//	 "kdf":{"alg":"argon2id","time":T,"memory_kib":M,"threads":P,"salt":base64},
//	 "nonce":base64, "sealed":base64}
//
// sealed = AES-256-GCM(Argon2id(passphrase, salt), nonce, payload, "amane/keyring/v1") where payload is
// the JSON of keyringPayload. The passphrase comes from AMANE_PASSPHRASE or a file, never a flag value.
//
// Argon2id with 64 MiB and 3 passes (RFC 9106's second recommended option) makes a stolen keyring file
// cost a passphrase search at memory-hard speed; the keyring is opened once per process, so the cost is
// paid once.
const (
	keyringFormat = "amane-keyring-v1"
	labelKeyring  = "amane/keyring/v1"
	kdfTime       = 3
	kdfMemoryKiB  = 64 * 1024
	kdfThreads    = 2
)

type keyringFile struct {
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

type keyringPayload struct {
	Current  uint32            `json:"current"`
	KEKs     map[uint32][]byte `json:"keks"`
	IndexKey []byte            `json:"index_key"`
}

// Keyring is the sealed keyring file, opened: versioned KEKs and the blind-index key. It implements
// KeyWrapper.
type Keyring struct {
	current  uint32
	keks     map[uint32]cipher.AEAD
	indexKey []byte
}

// ErrPassphrase is returned when the keyring does not open with the given passphrase.
var ErrPassphrase = errors.New("keyring: wrong passphrase, or the keyring file was altered")

// CreateKeyring writes a new keyring at path with one KEK (version 1) and a fresh index key, sealed by
// passphrase. It refuses to overwrite an existing file.
func CreateKeyring(path string, passphrase []byte) error {
	if len(passphrase) < 12 {
		return errors.New("keyring: the passphrase must be at least 12 characters")
	}
	p := keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: randomKey()}, IndexKey: randomKey()}
	b, err := sealKeyring(&p, passphrase)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randomKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k
}

func sealKeyring(p *keyringPayload, passphrase []byte) ([]byte, error) {
	var f keyringFile
	f.Format = keyringFormat
	f.KDF.Alg, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads = "argon2id", kdfTime, kdfMemoryKiB, kdfThreads
	f.KDF.Salt = make([]byte, 16)
	f.Nonce = make([]byte, 12)
	rand.Read(f.KDF.Salt)
	rand.Read(f.Nonce)
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	defer clear(payload)
	key := argon2.IDKey(passphrase, f.KDF.Salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 32)
	a, err := newAEAD(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	f.Sealed = a.Seal(nil, f.Nonce, payload, []byte(labelKeyring))
	return json.MarshalIndent(&f, "", "  ")
}

// OpenKeyring reads and unseals the keyring at path.
func OpenKeyring(path string, passphrase []byte) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != keyringFormat {
		return nil, fmt.Errorf("keyring: %s is not an Amane keyring file", path)
	}
	// Bound the KDF parameters so that a crafted file cannot make us allocate without limit.
	if f.KDF.Alg != "argon2id" || f.KDF.Time == 0 || f.KDF.Time > 8 || f.KDF.MemoryKiB < 8*1024 ||
		f.KDF.MemoryKiB > 256*1024 || f.KDF.Threads == 0 || len(f.KDF.Salt) < 16 || len(f.Nonce) != 12 {
		return nil, fmt.Errorf("keyring: %s has unsupported key-derivation parameters", path)
	}
	key := argon2.IDKey(passphrase, f.KDF.Salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 32)
	a, err := newAEAD(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	payload, err := a.Open(nil, f.Nonce, f.Sealed, []byte(labelKeyring))
	if err != nil {
		return nil, ErrPassphrase
	}
	defer clear(payload)
	var p keyringPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("keyring: payload: %w", err)
	}
	if len(p.IndexKey) != 32 || len(p.KEKs[p.Current]) != 32 {
		return nil, errors.New("keyring: payload lacks the current KEK or the index key")
	}
	kr := &Keyring{current: p.Current, keks: map[uint32]cipher.AEAD{}, indexKey: p.IndexKey}
	for v, k := range p.KEKs {
		if kr.keks[v], err = newAEAD(k); err != nil {
			return nil, err
		}
		clear(k)
	}
	return kr, nil
}

// IndexKey returns the blind-index key.
func (kr *Keyring) IndexKey() []byte { return kr.indexKey }

// CurrentVersion returns the KEK version new data keys are wrapped with.
func (kr *Keyring) CurrentVersion() uint32 { return kr.current }

// Versions lists the KEK versions the keyring holds, in increasing order.
func (kr *Keyring) Versions() []uint32 {
	vs := make([]uint32, 0, len(kr.keks))
	for v := range kr.keks {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs
}

// Wrap seals a data key under KEK version. The output is nonce ‖ ciphertext.
func (kr *Keyring) Wrap(version uint32, dek, ad []byte) ([]byte, error) {
	a, ok := kr.keks[version]
	if !ok {
		return nil, fmt.Errorf("keyring: no KEK version %d", version)
	}
	out := make([]byte, 12, 12+len(dek)+16)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return a.Seal(out, out[:12], dek, ad), nil
}

// Unwrap opens a data key wrapped under KEK version.
func (kr *Keyring) Unwrap(version uint32, wrapped, ad []byte) ([]byte, error) {
	a, ok := kr.keks[version]
	if !ok {
		return nil, fmt.Errorf("keyring: no KEK version %d (retired?)", version)
	}
	if len(wrapped) < 12+16 {
		return nil, errors.New("keyring: wrapped key too short")
	}
	dek, err := a.Open(nil, wrapped[:12], wrapped[12:], ad)
	if err != nil {
		return nil, errors.New("keyring: wrapped key does not authenticate")
	}
	return dek, nil
}

// FromKeyring returns a vault over a keyring's KEKs and index key.
func FromKeyring(kr *Keyring) (*Vault, error) { return New(kr, kr.IndexKey()) }
