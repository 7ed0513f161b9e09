package hsm

import (
	"crypto"
	"crypto/elliptic"
	"errors"
	"fmt"
)

// Signing keys. Attestations are signed by a key that can live on the token too: the private key is
// generated there, non-extractable, and only its public half leaves (for the certificate). The
// returned crypto.Signer is what attest.NewSigner takes.

// GenerateSigner creates an ECDSA P-256 key pair labelled label on the token. It refuses a label in
// use.
func (h *HSM) GenerateSigner(label string) (crypto.Signer, error) {
	if label == "" {
		return nil, errors.New("hsm: a signing key needs a label")
	}
	if s, err := h.ctx.FindKeyPair(nil, []byte(label)); err == nil && s != nil { // crypto11 reports "not found" as an error
		return nil, fmt.Errorf("hsm: a key pair labelled %q exists already", label)
	}
	id := append([]byte("amane-sign:"), label...)
	s, err := h.ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	if err != nil {
		return nil, fmt.Errorf("hsm: generate signing key %q: %w", label, err)
	}
	return s, nil
}

// Signer returns the token's key pair labelled label, as a crypto.Signer whose private half never
// leaves the token.
func (h *HSM) Signer(label string) (crypto.Signer, error) {
	s, err := h.ctx.FindKeyPair(nil, []byte(label))
	if err != nil || s == nil {
		return nil, fmt.Errorf("hsm: no key pair labelled %q on token %q", label, h.cfg.TokenLabel)
	}
	return s, nil
}
