// Package hsm keeps the key-encryption keys (KEKs) in a PKCS#11 token: each KEK version is a
// non-extractable AES-256 key on the token, labelled Config.KeyLabel, whose CKA_ID is the version as 4
// big-endian bytes. Data keys are wrapped and unwrapped by AES-GCM on the token, so a KEK never leaves it.
// *HSM implements vault.Custody.
//
// Wrapped data key: nonce(12) ‖ AES-256-GCM(KEK vN, nonce, DEK, ad) ‖ tag(16), the same layout as the
// sealed keyring file's, so the registry stores both alike.
//
// The blind-index key stays in software (an HMAC per lookup would be too slow on a token); it is kept
// in a file, wrapped by the token (see CreateIndexKey).
package hsm

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"amane/vault"
)

var _ vault.Custody = (*HSM)(nil)

// Config names the token and the keys. The PIN is never part of it: it comes from PINFile, else from
// the environment (see PIN).
type Config struct {
	Module     string // path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
	TokenLabel string // CKA_LABEL of the token
	KeyLabel   string // CKA_LABEL shared by every KEK version
	PINFile    string // file holding the user PIN; empty: AMANE_HSM_PIN_FILE, else AMANE_HSM_PIN
}

const (
	nonceSize = 12
	tagSize   = 16
	keyBits   = 256

	// refreshEvery bounds how often an Unwrap of an unknown version re-scans the token.
	refreshEvery = time.Second
)

// HSM is an opened token holding the KEK versions. It is safe for concurrent use.
type HSM struct {
	ctx   *crypto11.Context
	cfg   Config
	login string // loginRegistry key

	mu      sync.RWMutex
	keys    map[uint32]*kek
	current uint32

	refreshMu   sync.Mutex // serializes re-scans; guards lastRefresh
	lastRefresh time.Time  // of the last re-scan made by Unwrap

	closeOnce sync.Once
}

type kek struct {
	key  *crypto11.SecretKey
	aead cipher.AEAD
}

// PIN returns the user PIN: the content of cfg.PINFile, else of the file named by AMANE_HSM_PIN_FILE,
// else AMANE_HSM_PIN. A PIN is never a flag value: command lines are visible to every user of the
// machine. One trailing newline is dropped.
func PIN(cfg Config) (string, error) {
	file := cfg.PINFile
	if file == "" {
		file = os.Getenv("AMANE_HSM_PIN_FILE")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("hsm: PIN file: %w", err)
		}
		pin := strings.TrimRight(string(b), "\r\n")
		if pin == "" {
			return "", fmt.Errorf("hsm: PIN file %s is empty", file)
		}
		return pin, nil
	}
	if pin := os.Getenv("AMANE_HSM_PIN"); pin != "" {
		return pin, nil
	}
	return "", errors.New("hsm: no token PIN: set AMANE_HSM_PIN or AMANE_HSM_PIN_FILE, or give a PIN file")
}

// Create opens the token and generates KEK version 1 under cfg.KeyLabel. It refuses a token that
// holds a key with that label already.
func Create(cfg Config) (*HSM, error) {
	h, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	found, err := h.ctx.FindKeys(nil, []byte(cfg.KeyLabel))
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("hsm: searching token %q: %w", cfg.TokenLabel, err)
	}
	if len(found) > 0 {
		h.Close()
		return nil, fmt.Errorf("hsm: token %q already holds a key labelled %q; open it instead", cfg.TokenLabel, cfg.KeyLabel)
	}
	if _, err := h.generate(1); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Open opens the token and finds every KEK version labelled cfg.KeyLabel; the highest is current.
func Open(cfg Config) (*HSM, error) {
	h, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	if err := h.Refresh(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// loginRegistry records, per module and token, a hash of the PIN that logged in and how many handles
// hold that login. PKCS#11 login state belongs to the whole process: while one handle is logged in,
// C_Login answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN, and crypto11 takes that as
// success. Comparing against the PIN that did log in keeps a wrong PIN refused in that case.
var (
	loginMu       sync.Mutex
	loginRegistry = map[string]*loginEntry{}
)

type loginEntry struct {
	pin [32]byte
	n   int
}

func connect(cfg Config) (*HSM, error) {
	switch {
	case cfg.Module == "":
		return nil, errors.New("hsm: no PKCS#11 module: give the path of the token's library (e.g. /usr/lib/softhsm/libsofthsm2.so)")
	case cfg.TokenLabel == "":
		return nil, errors.New("hsm: no token label")
	case cfg.KeyLabel == "":
		return nil, errors.New("hsm: no key label")
	}
	if _, err := os.Stat(cfg.Module); err != nil {
		return nil, fmt.Errorf("hsm: PKCS#11 module %s: %w", cfg.Module, err)
	}
	// crypto11 shares one initialized library per path; two spellings of the same library would
	// initialize it twice (CKR_CRYPTOKI_ALREADY_INITIALIZED).
	module, err := filepath.EvalSymlinks(cfg.Module)
	if err != nil {
		return nil, fmt.Errorf("hsm: PKCS#11 module: %w", err)
	}
	if module, err = filepath.Abs(module); err != nil {
		return nil, fmt.Errorf("hsm: PKCS#11 module: %w", err)
	}
	pin, err := PIN(cfg)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(pin))
	key := module + "\x00" + cfg.TokenLabel

	loginMu.Lock()
	defer loginMu.Unlock()
	if e := loginRegistry[key]; e != nil && subtle.ConstantTimeCompare(e.pin[:], sum[:]) != 1 {
		return nil, fmt.Errorf("hsm: wrong PIN for token %q", cfg.TokenLabel)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:        module,
		TokenLabel:  cfg.TokenLabel,
		Pin:         pin,
		GCMIVLength: nonceSize,
	})
	if err != nil {
		return nil, configureError(cfg, module, err)
	}
	if e := loginRegistry[key]; e != nil {
		e.n++
	} else {
		loginRegistry[key] = &loginEntry{pin: sum, n: 1}
	}
	return &HSM{ctx: ctx, cfg: cfg, login: key, keys: map[uint32]*kek{}}, nil
}

func configureError(cfg Config, module string, err error) error {
	var p11 pkcs11.Error
	switch {
	case errors.As(err, &p11) && p11 == pkcs11.CKR_PIN_INCORRECT:
		return fmt.Errorf("hsm: wrong PIN for token %q", cfg.TokenLabel)
	case errors.As(err, &p11) && p11 == pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("hsm: the PIN of token %q is locked", cfg.TokenLabel)
	case strings.Contains(err.Error(), "could not find PKCS#11 token"):
		return fmt.Errorf("hsm: no token labelled %q in %s", cfg.TokenLabel, module)
	}
	return fmt.Errorf("hsm: token %q in %s: %w", cfg.TokenLabel, module, err)
}

// Close releases the handle's sessions; the last handle in the process logs out and finalizes the
// library. Further calls fail.
func (h *HSM) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.keys = map[uint32]*kek{}
		h.mu.Unlock()
		loginMu.Lock()
		defer loginMu.Unlock()
		err = h.ctx.Close() // the library is finalized with its last context
		if e := loginRegistry[h.login]; e != nil {
			if e.n--; e.n == 0 {
				delete(loginRegistry, h.login)
			}
		}
	})
	return err
}

func versionID(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// generate creates KEK version v on the token and makes it current.
func (h *HSM) generate(v uint32) (uint32, error) {
	t := crypto11.NewAttributeSet()
	for _, a := range []struct {
		typ uint
		val any
	}{
		{crypto11.CkaId, versionID(v)},
		{crypto11.CkaLabel, []byte(h.cfg.KeyLabel)},
		{crypto11.CkaToken, true},
		{crypto11.CkaPrivate, true},
		{crypto11.CkaSensitive, true},
		{crypto11.CkaExtractable, false},
		{crypto11.CkaEncrypt, true},
		{crypto11.CkaDecrypt, true},
		{crypto11.CkaWrap, false},
		{crypto11.CkaUnwrap, false},
		{crypto11.CkaDerive, false},
	} {
		if err := t.Set(a.typ, a.val); err != nil {
			return 0, fmt.Errorf("hsm: key template: %w", err)
		}
	}
	key, err := h.ctx.GenerateSecretKeyWithAttributes(t, keyBits, crypto11.CipherAES)
	if err != nil {
		return 0, fmt.Errorf("hsm: generating KEK version %d on token %q: %w", v, h.cfg.TokenLabel, err)
	}
	k, err := newKEK(key)
	if err != nil {
		return 0, err
	}
	h.mu.Lock()
	h.keys[v] = k
	if v > h.current {
		h.current = v
	}
	h.mu.Unlock()
	return v, nil
}

func newKEK(key *crypto11.SecretKey) (*kek, error) {
	a, err := key.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("hsm: %w", err)
	}
	return &kek{key: key, aead: a}, nil
}

// Refresh re-scans the token, so that versions added or removed by another process are seen.
func (h *HSM) Refresh() error {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	return h.refreshLocked()
}

func (h *HSM) refreshLocked() error {
	found, err := h.ctx.FindKeys(nil, []byte(h.cfg.KeyLabel))
	if err != nil {
		return fmt.Errorf("hsm: searching token %q: %w", h.cfg.TokenLabel, err)
	}
	keys := make(map[uint32]*kek, len(found))
	var current uint32
	for _, key := range found {
		a, err := h.ctx.GetAttribute(key, crypto11.CkaId)
		if err != nil {
			return fmt.Errorf("hsm: reading CKA_ID of a key labelled %q: %w", h.cfg.KeyLabel, err)
		}
		if a == nil || len(a.Value) != 4 {
			return fmt.Errorf("hsm: a key labelled %q has no 4-byte version as CKA_ID", h.cfg.KeyLabel)
		}
		v := binary.BigEndian.Uint32(a.Value)
		if _, dup := keys[v]; dup {
			return fmt.Errorf("hsm: token %q holds two keys labelled %q with version %d", h.cfg.TokenLabel, h.cfg.KeyLabel, v)
		}
		if keys[v], err = newKEK(key); err != nil {
			return err
		}
		current = max(current, v)
	}
	if len(keys) == 0 {
		return fmt.Errorf("hsm: token %q holds no key labelled %q", h.cfg.TokenLabel, h.cfg.KeyLabel)
	}
	h.mu.Lock()
	h.keys, h.current = keys, current
	h.mu.Unlock()
	return nil
}

// refreshSoon re-scans the token unless that was done less than refreshEvery ago.
func (h *HSM) refreshSoon() {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if time.Since(h.lastRefresh) >= refreshEvery {
		h.lastRefresh = time.Now()
		h.refreshLocked() // on failure the caller reports the version missing
	}
}

func (h *HSM) key(v uint32) *kek {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.keys[v]
}

// CurrentVersion returns the KEK version new data keys are wrapped with: the highest on the token.
func (h *HSM) CurrentVersion() uint32 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.current
}

// Versions lists the KEK versions on the token, in increasing order.
func (h *HSM) Versions() []uint32 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	vs := make([]uint32, 0, len(h.keys))
	for v := range h.keys {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// AddVersion generates the next KEK version (the highest on the token plus one) and makes it current.
// Two processes adding a version at the same moment can both pick the same number; Refresh then
// reports the duplicate. Run key administration from one place.
func (h *HSM) AddVersion() (uint32, error) {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if err := h.refreshLocked(); err != nil {
		return 0, err
	}
	return h.generate(h.CurrentVersion() + 1)
}

// RemoveVersion destroys KEK version v on the token: data keys wrapped under it can no longer be
// unwrapped, nor the index key if it is still wrapped under v (see RewrapIndexKey). The current
// version cannot be removed.
func (h *HSM) RemoveVersion(v uint32) error {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if err := h.refreshLocked(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k, ok := h.keys[v]
	switch {
	case !ok:
		return fmt.Errorf("hsm: no KEK version %d on token %q", v, h.cfg.TokenLabel)
	case v == h.current:
		return fmt.Errorf("hsm: KEK version %d is current; add a version before removing it", v)
	}
	if err := k.key.Delete(); err != nil {
		return fmt.Errorf("hsm: destroying KEK version %d: %w", v, err)
	}
	delete(h.keys, v)
	return nil
}

// Wrap seals a data key under KEK version on the token. The output is nonce ‖ ciphertext ‖ tag.
func (h *HSM) Wrap(version uint32, dek, ad []byte) (out []byte, err error) {
	k := h.key(version)
	if k == nil {
		return nil, fmt.Errorf("hsm: no KEK version %d", version)
	}
	out = make([]byte, nonceSize, nonceSize+len(dek)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	// crypto11's AEAD.Seal panics when the token fails (cipher.AEAD has no error result); turn that
	// back into an error.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("hsm: wrapping under KEK version %d: %v", version, r)
		}
	}()
	out = k.aead.Seal(out, out[:nonceSize], dek, ad)
	if len(out) != nonceSize+len(dek)+tagSize {
		return nil, fmt.Errorf("hsm: the token returned %d bytes for a wrapped key of %d", len(out), len(dek))
	}
	return out, nil
}

// Unwrap opens a data key wrapped under KEK version and hands it to the vault (vault.UnwrappedKey): no
// caller outside the vault reads it. An unknown version makes it re-scan the token once (at most once
// a second), in case another process added that version.
func (h *HSM) Unwrap(version uint32, wrapped, ad []byte) (*vault.UnwrappedKey, error) {
	dek, err := h.unwrap(version, wrapped, ad)
	if err != nil {
		return nil, err
	}
	return vault.NewUnwrappedKey(dek), nil
}

// unwrap opens a key wrapped under KEK version: a data key for Unwrap, the blind-index key for
// OpenIndexKey (whose associated data no data key's matches).
func (h *HSM) unwrap(version uint32, wrapped, ad []byte) ([]byte, error) {
	k := h.key(version)
	if k == nil {
		h.refreshSoon()
		if k = h.key(version); k == nil {
			return nil, fmt.Errorf("hsm: no KEK version %d (retired?)", version)
		}
	}
	if len(wrapped) < nonceSize+tagSize {
		return nil, errors.New("hsm: wrapped key too short")
	}
	dek, err := k.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], ad)
	if err != nil {
		// crypto11 formats the PKCS#11 code into its message (fmt %v), so the code is matched by name.
		// SoftHSM 2.6 answers a GCM tag mismatch with CKR_GENERAL_ERROR, so that code counts as one too.
		s := err.Error()
		for _, code := range []string{"CKR_ENCRYPTED_DATA_INVALID", "CKR_ENCRYPTED_DATA_LEN_RANGE", "CKR_GENERAL_ERROR"} {
			if strings.Contains(s, code) {
				return nil, fmt.Errorf("hsm: wrapped key does not authenticate under KEK version %d (token: %s)", version, code)
			}
		}
		return nil, fmt.Errorf("hsm: unwrapping under KEK version %d: %w", version, err)
	}
	return dek, nil
}

// KeyAttributes reads CKA_SENSITIVE and CKA_EXTRACTABLE of KEK version from the token.
func (h *HSM) KeyAttributes(version uint32) (sensitive, extractable bool, err error) {
	k := h.key(version)
	if k == nil {
		return false, false, fmt.Errorf("hsm: no KEK version %d", version)
	}
	set, err := h.ctx.GetAttributes(k.key, []crypto11.AttributeType{crypto11.CkaSensitive, crypto11.CkaExtractable})
	if err != nil {
		return false, false, fmt.Errorf("hsm: reading attributes of KEK version %d: %w", version, err)
	}
	b := func(t crypto11.AttributeType) (bool, error) {
		a := set[t]
		if a == nil || len(a.Value) != 1 {
			return false, fmt.Errorf("hsm: KEK version %d: attribute %#x unreadable", version, t)
		}
		return a.Value[0] != 0, nil
	}
	if sensitive, err = b(crypto11.CkaSensitive); err != nil {
		return false, false, err
	}
	if extractable, err = b(crypto11.CkaExtractable); err != nil {
		return false, false, err
	}
	return sensitive, extractable, nil
}
