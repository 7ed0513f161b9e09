// Package baseline holds the comparison points of `amane bench`, injected into the real gate and
// vault from outside the security code, so that neither holds a branch that turns its protection off:
//
//   - Vault: a vault whose data keys "wrap" by copying (KeyWrapper), whose cipher copies the plaintext
//     and whose blind-index MAC is FNV-128a (vault.Primitives). It runs the vault's own code — key
//     generation, wrapping, the field and history formats, the single-use rule, pooling, truncation —
//     so the difference from the real vault is the cryptography alone: AES-256-GCM, HMAC-SHA256 and
//     the KEK's wrap and unwrap.
//   - Journal: an access journal that keeps nothing. The gate still makes every decision (principal,
//     purpose, role, scope, masking) and builds every entry; only the durable append is gone.
//
// It is internal to bench: no other package can import it, and TestBaselineOnlyInBench (gate) checks
// on the import graph that no package but bench and the command running it reaches it, that nothing
// but this package calls vault.NewWithPrimitives, and that bench hands out no gate, journal or vault.
package baseline

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"hash"
	"hash/fnv"

	"amane/journal"
	"amane/vault"
)

// Vault returns the pass-through vault (see the package doc).
func Vault() (*vault.Vault, error) {
	indexKey := make([]byte, 32)
	if _, err := rand.Read(indexKey); err != nil {
		return nil, err
	}
	return vault.NewWithPrimitives(copyWrapper{}, indexKey, vault.Primitives{AEAD: copyCipher, MAC: fnvMAC})
}

// copyWrapper stores a data key as it is: version 1, the key's bytes.
type copyWrapper struct{}

func (copyWrapper) CurrentVersion() uint32 { return 1 }

func (copyWrapper) Wrap(_ uint32, dek, _ []byte) ([]byte, error) { return bytes.Clone(dek), nil }

func (copyWrapper) Unwrap(_ uint32, wrapped, _ []byte) (*vault.UnwrappedKey, error) {
	return vault.NewUnwrappedKey(bytes.Clone(wrapped)), nil
}

// copyAEAD "seals" by copying: no tag, and the nonce and associated data are ignored.
type copyAEAD struct{}

func copyCipher([]byte) (cipher.AEAD, error) { return copyAEAD{}, nil }

func (copyAEAD) NonceSize() int { return 12 }
func (copyAEAD) Overhead() int  { return 0 }

func (copyAEAD) Seal(dst, _, plaintext, _ []byte) []byte { return append(dst, plaintext...) }

func (copyAEAD) Open(dst, _, ciphertext, _ []byte) ([]byte, error) {
	return append(dst, ciphertext...), nil
}

// fnvMAC is FNV-128a, keyless: 16 bytes as a blind index is, so that lookups find the same rows by the
// same index sizes, at the cost of a non-cryptographic hash (a few nanoseconds).
func fnvMAC([]byte) hash.Hash { return fnv.New128a() }

// Journal is an access journal that keeps nothing (see the package doc). It implements gate.Journal.
type Journal struct{}

func (Journal) Append(context.Context, journal.Entry) (int64, error) { return 0, nil }
func (Journal) AppendAll(context.Context, []journal.Entry) error     { return nil }
func (Journal) Checkpoint(context.Context) (int64, error)            { return 0, nil }
