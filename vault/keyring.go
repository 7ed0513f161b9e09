package vault

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

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
	IndexKey []byte            `json:"index_key"` // blind-index key version 1
	// Later blind-index key versions (amane keys reindex); the store records which one its indexes use.
	IndexKeys map[uint32][]byte `json:"index_keys,omitempty"`
}

// Keyring is the sealed keyring file, opened: versioned KEKs and the blind-index key. It implements
// Custody and is safe for concurrent use.
type Keyring struct {
	path       string
	passphrase []byte // kept to re-seal the file (AddVersion, RemoveVersion) and re-read it (Refresh)
	indexKey   []byte // version 1, fixed for the keyring's life

	mu      sync.RWMutex // guards current and keks
	current uint32
	keks    map[uint32]cipher.AEAD

	fileMu      sync.Mutex // serializes reading and rewriting the file; guards sum and lastRefresh
	sum         [sha256.Size]byte
	lastRefresh time.Time // of the last re-read made by Unwrap
}

var _ Custody = (*Keyring)(nil)

// refreshEvery bounds how often an Unwrap of an unknown version re-reads the keyring file.
const refreshEvery = time.Second

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

// OpenKeyring reads and unseals the keyring at path. The Keyring keeps path and a copy of passphrase.
func OpenKeyring(path string, passphrase []byte) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	p, err := unsealKeyring(path, b, passphrase)
	if err != nil {
		return nil, err
	}
	defer p.clear()
	kr := &Keyring{
		path:       path,
		passphrase: bytes.Clone(passphrase),
		indexKey:   bytes.Clone(p.IndexKey),
		sum:        sha256.Sum256(b),
	}
	if err := kr.install(p); err != nil {
		return nil, err
	}
	return kr, nil
}

// unsealKeyring decodes and unseals the keyring file content b.
func unsealKeyring(path string, b, passphrase []byte) (*keyringPayload, error) {
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
		p.clear()
		return nil, errors.New("keyring: payload lacks the current KEK or the index key")
	}
	return &p, nil
}

func (p *keyringPayload) clear() {
	for _, k := range p.KEKs {
		clear(k)
	}
	clear(p.IndexKey)
	for _, k := range p.IndexKeys {
		clear(k)
	}
}

// install replaces the KEKs and the current version by those of p.
func (kr *Keyring) install(p *keyringPayload) error {
	keks := make(map[uint32]cipher.AEAD, len(p.KEKs))
	for v, k := range p.KEKs {
		a, err := newAEAD(k)
		if err != nil {
			return fmt.Errorf("keyring: KEK version %d: %w", v, err)
		}
		keks[v] = a
	}
	kr.mu.Lock()
	kr.keks, kr.current = keks, p.Current
	kr.mu.Unlock()
	return nil
}

// load reads and unseals the file as it is now, for a change. The caller holds fileMu.
func (kr *Keyring) load() (*keyringPayload, error) {
	b, err := os.ReadFile(kr.path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	p, err := unsealKeyring(kr.path, b, kr.passphrase)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p.IndexKey, kr.indexKey) {
		p.clear()
		return nil, fmt.Errorf("keyring: %s now holds another index key: it was replaced by another keyring", kr.path)
	}
	return p, nil
}

// store re-seals p, replaces the file atomically and installs p. The caller holds fileMu.
func (kr *Keyring) store(p *keyringPayload) error {
	b, err := sealKeyring(p, kr.passphrase)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(kr.path, b); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	kr.sum = sha256.Sum256(b)
	return kr.install(p)
}

// writeFileAtomic replaces path by a file holding b, mode 0600: temporary file in the same directory,
// fsync, rename, fsync of the directory. A crash leaves the old file or the new one, never a mix.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// AddVersion adds a random KEK version, one above the highest in the file, makes it current and
// rewrites the file. It re-reads the file first, so versions added by another process are kept; two
// processes changing the file at the same instant are not serialized (run key administration from one
// place).
func (kr *Keyring) AddVersion() (uint32, error) {
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	p, err := kr.load()
	if err != nil {
		return 0, err
	}
	defer p.clear()
	v := slices.Max(slices.Collect(maps.Keys(p.KEKs))) + 1
	p.KEKs[v] = randomKey()
	p.Current = v
	if err := kr.store(p); err != nil {
		return 0, err
	}
	return v, nil
}

// RemoveVersion deletes KEK version v from the file: data keys wrapped under it can no longer be
// unwrapped. The current version cannot be removed.
func (kr *Keyring) RemoveVersion(v uint32) error {
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	p, err := kr.load()
	if err != nil {
		return err
	}
	defer p.clear()
	if _, ok := p.KEKs[v]; !ok {
		return fmt.Errorf("keyring: no KEK version %d", v)
	}
	if v == p.Current {
		return fmt.Errorf("keyring: KEK version %d is current; add a version before removing it", v)
	}
	clear(p.KEKs[v])
	delete(p.KEKs, v)
	return kr.store(p)
}

// Refresh re-reads the keyring file if its content changed, so that versions added or removed by
// another process are seen.
func (kr *Keyring) Refresh() error {
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	return kr.refreshLocked()
}

func (kr *Keyring) refreshLocked() error {
	b, err := os.ReadFile(kr.path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	sum := sha256.Sum256(b)
	if sum == kr.sum {
		return nil
	}
	p, err := unsealKeyring(kr.path, b, kr.passphrase)
	if err != nil {
		return err
	}
	defer p.clear()
	if !bytes.Equal(p.IndexKey, kr.indexKey) {
		return fmt.Errorf("keyring: %s now holds another index key: it was replaced by another keyring", kr.path)
	}
	if err := kr.install(p); err != nil {
		return err
	}
	kr.sum = sum
	return nil
}

// refreshSoon re-reads the file unless Unwrap did so less than refreshEvery ago.
func (kr *Keyring) refreshSoon() {
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	if time.Since(kr.lastRefresh) >= refreshEvery {
		kr.lastRefresh = time.Now()
		kr.refreshLocked() // on failure the caller reports the version missing
	}
}

func (kr *Keyring) kek(v uint32) cipher.AEAD {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keks[v]
}

// IndexKey returns the blind-index key version 1.
func (kr *Keyring) IndexKey() []byte { return kr.indexKey }

// IndexKeyVersion returns blind-index key version v, read from the file as it is now.
func (kr *Keyring) IndexKeyVersion(v uint32) ([]byte, error) {
	if v == 1 {
		return kr.indexKey, nil
	}
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	p, err := kr.load()
	if err != nil {
		return nil, err
	}
	defer p.clear()
	k, ok := p.IndexKeys[v]
	if !ok || len(k) != 32 {
		return nil, fmt.Errorf("keyring: no blind-index key version %d", v)
	}
	return bytes.Clone(k), nil
}

// AddIndexKey adds a random blind-index key version, one above the highest, rewrites the file and
// returns the version and the key. The store goes on using its version until a reindex commits.
func (kr *Keyring) AddIndexKey() (uint32, []byte, error) {
	kr.fileMu.Lock()
	defer kr.fileMu.Unlock()
	p, err := kr.load()
	if err != nil {
		return 0, nil, err
	}
	defer p.clear()
	v := uint32(2)
	for n := range p.IndexKeys {
		v = max(v, n+1)
	}
	if p.IndexKeys == nil {
		p.IndexKeys = map[uint32][]byte{}
	}
	k := randomKey()
	p.IndexKeys[v] = bytes.Clone(k)
	if err := kr.store(p); err != nil {
		return 0, nil, err
	}
	return v, k, nil
}

// CurrentVersion returns the KEK version new data keys are wrapped with.
func (kr *Keyring) CurrentVersion() uint32 {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current
}

// Versions lists the KEK versions the keyring holds, in increasing order.
func (kr *Keyring) Versions() []uint32 {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return slices.Sorted(maps.Keys(kr.keks))
}

// Wrap seals a data key under KEK version. The output is nonce ‖ ciphertext.
func (kr *Keyring) Wrap(version uint32, dek, ad []byte) ([]byte, error) {
	a := kr.kek(version)
	if a == nil {
		return nil, fmt.Errorf("keyring: no KEK version %d", version)
	}
	out := make([]byte, 12, 12+len(dek)+16)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return a.Seal(out, out[:12], dek, ad), nil
}

// Unwrap opens a data key wrapped under KEK version, for the vault (UnwrappedKey). An unknown version
// makes it re-read the file once (at most once a second), in case another process added that version.
func (kr *Keyring) Unwrap(version uint32, wrapped, ad []byte) (*UnwrappedKey, error) {
	a := kr.kek(version)
	if a == nil {
		kr.refreshSoon()
		if a = kr.kek(version); a == nil {
			return nil, fmt.Errorf("keyring: no KEK version %d (retired?)", version)
		}
	}
	if len(wrapped) < 12+16 {
		return nil, errors.New("keyring: wrapped key too short")
	}
	dek, err := a.Open(nil, wrapped[:12], wrapped[12:], ad)
	if err != nil {
		return nil, errors.New("keyring: wrapped key does not authenticate")
	}
	return &UnwrappedKey{b: dek}, nil
}

// FromKeyring returns a vault over a keyring's KEKs and index key.
func FromKeyring(kr *Keyring) (*Vault, error) { return New(kr, kr.IndexKey()) }
