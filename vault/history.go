package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// A history key seals many values of one subject over time — an insured person's declared months —
// where a DataKey seals each field once. It uses random 96-bit nonces (a person has a dozen lines a
// year, far below GCM's 2^32 bound for random nonces), stored in the ciphertext:
//
//	0x02 ‖ nonce ‖ AES-256-GCM(key, nonce, plaintext, "amane/record/v1" ‖ 0x00 ‖ subject ‖ 0x00 ‖ context)
//
// The context names where the value belongs (a declaration and a line), so a sealed line moved to
// another declaration or another person's slot fails to open. Wrapping and erasure are the data
// keys': the wrapped history key is stored like any data key, and destroying it shreds every line.
const (
	labelRecord = "amane/record/v1"
	formatV2    = 0x02
)

// HistoryKey seals values of one subject with random nonces. It cannot open them: only an Opener can
// (OpenRecord). A HistoryKey serves one goroutine at a time.
type HistoryKey struct {
	subject string
	aead    cipher.AEAD
	ad      []byte
}

func newHistoryKey(subject string, a cipher.AEAD) *HistoryKey {
	h := &HistoryKey{subject: subject, aead: a}
	h.ad = append(append(append(append([]byte(nil), labelRecord...), 0), subject...), 0)
	return h
}

// NewHistoryKey creates a fresh history key for subject and returns it with its wrapped form and the
// KEK version that wrapped it.
func (v *Vault) NewHistoryKey(subject string) (*HistoryKey, uint32, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, 0, nil, err
	}
	defer clear(raw)
	ver := v.kek.CurrentVersion()
	wrapped, err := v.kek.Wrap(ver, raw, dekAD(subject))
	if err != nil {
		return nil, 0, nil, err
	}
	a, err := v.aead(raw)
	if err != nil {
		return nil, 0, nil, err
	}
	return newHistoryKey(subject, a), ver, wrapped, nil
}

// HistoryKey unwraps a stored history key for sealing more values. Sealing needs no capability:
// reading does (Opener.OpenRecord).
func (v *Vault) HistoryKey(subject string, version uint32, wrapped []byte) (*HistoryKey, error) {
	a, err := v.unwrapAEAD(subject, version, wrapped)
	if err != nil {
		return nil, err
	}
	return newHistoryKey(subject, a), nil
}

func (v *Vault) unwrapAEAD(subject string, version uint32, wrapped []byte) (cipher.AEAD, error) {
	if len(wrapped) == 0 {
		return nil, fmt.Errorf("vault: no data key for %s (erased?)", subject)
	}
	raw, err := v.unwrap(version, wrapped, dekAD(subject))
	if err != nil {
		return nil, fmt.Errorf("vault: data key of %s does not unwrap: %w", subject, err)
	}
	defer clear(raw)
	return v.aead(raw)
}

// Subject returns the subject the key belongs to.
func (h *HistoryKey) Subject() string { return h.subject }

// Seal appends the sealed plaintext to dst and returns it.
func (h *HistoryKey) Seal(dst []byte, context string, plaintext []byte) ([]byte, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	dst = append(dst, formatV2)
	dst = append(dst, nonce[:]...)
	ad := append(h.ad[:len(h.ad):len(h.ad)], context...)
	return h.aead.Seal(dst, nonce[:], plaintext, ad), nil
}

func (h *HistoryKey) open(context string, ct []byte) ([]byte, error) {
	if len(ct) < 1+12+h.aead.Overhead() || ct[0] != formatV2 {
		return nil, fmt.Errorf("%w (%s of %s: malformed ciphertext)", ErrOpen, context, h.subject)
	}
	ad := append(h.ad[:len(h.ad):len(h.ad)], context...)
	pt, err := h.aead.Open(nil, ct[1:13], ct[13:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w (%s of %s)", ErrOpen, context, h.subject)
	}
	return pt, nil
}

// UnwrapHistory returns a subject's history key, able to open (OpenRecord).
func (o *Opener) UnwrapHistory(subject string, version uint32, wrapped []byte) (*HistoryKey, error) {
	return o.v.HistoryKey(subject, version, wrapped)
}

// OpenRecord decrypts a value sealed by a HistoryKey of the same subject under the same context.
func (o *Opener) OpenRecord(h *HistoryKey, context string, ct []byte) ([]byte, error) {
	return h.open(context, ct)
}
