package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits, the parameters every authenticator app
// reads) is the second factor of employer users and insured people who sign in without a passkey.
// Staff never use it: they sign in with passkeys only.
//
// The store keeps each account's TOTP secret sealed with AES-256-GCM under the server's secret key
// (a 32-byte file, DIR/web-secret.key, kept apart from the store):
//
//	sealed = 0x01 || nonce (12 bytes) || AES-GCM(key, nonce, secret, aad = "amane totp v1" || 0x00 || login)
//
// The login in the associated data binds a sealed secret to its account: copied onto another account
// row, it fails to open.

// SecretKeySize is the size of the server's secret key.
const SecretKeySize = 32

const (
	totpIssuer  = "Amane"
	totpPeriod  = 30
	totpSkew    = 1 // steps accepted either side of now: clocks drift, people type slowly
	totpVersion = 1
	totpLabel   = "amane totp v1"
)

// CreateSecretKey writes a fresh random secret key to path (mode 0600), refusing to overwrite one.
func CreateSecretKey(path string) error {
	key := make([]byte, SecretKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadSecretKey reads the server's secret key from path.
func ReadSecretKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("web: %s holds %d bytes, want a %d-byte key", path, len(key), SecretKeySize)
	}
	return key, nil
}

// NewTOTP generates a TOTP secret for the account login and returns it sealed under key (for
// Account.TOTP) with the otpauth:// URI the person enters in an authenticator app. The URI holds the
// secret: show it once, never log it.
func NewTOTP(key []byte, login string) (sealed []byte, uri string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: login, Period: totpPeriod})
	if err != nil {
		return nil, "", err
	}
	sealed, err = SealTOTP(key, login, k.Secret())
	if err != nil {
		return nil, "", err
	}
	return sealed, k.URL(), nil
}

// SealTOTP seals a base32 TOTP secret for the account login.
func SealTOTP(key []byte, login, secret string) ([]byte, error) {
	aead, err := totpAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	out[0] = totpVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], []byte(secret), totpAAD(login)), nil
}

// openTOTP opens a sealed secret.
func openTOTP(key []byte, login string, sealed []byte) (string, error) {
	aead, err := totpAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != totpVersion {
		return "", errors.New("web: malformed sealed TOTP secret")
	}
	n := 1 + aead.NonceSize()
	pt, err := aead.Open(nil, sealed[1:n], sealed[n:], totpAAD(login))
	if err != nil {
		return "", errors.New("web: the TOTP secret does not open under this key")
	}
	return string(pt), nil
}

func totpAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != SecretKeySize {
		return nil, errors.New("web: no secret key configured for TOTP")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func totpAAD(login string) []byte { return []byte(totpLabel + "\x00" + login) }

// totpStep returns the RFC 6238 time step that code matches within ±totpSkew of now and after last
// (a code is accepted once: replaying an observed code fails), or false. Every candidate is computed
// and compared in constant time.
func totpStep(secret, code string, now time.Time, last uint64) (uint64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	cur := uint64(now.Unix()) / totpPeriod
	var found uint64
	ok := false
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, s, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > last && !ok {
			found, ok = s, true
		}
	}
	return found, ok
}
