package journal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Files in a data directory: the signing key (secret, 0600) and the verifier key (public), in the
// note key formats (note.GenerateKey), and the default witness file.
const (
	SignerFile   = "journal-signer.key"
	VerifierFile = "journal-verifier.txt"
	WitnessFile  = "journal-witness.txt"
)

// LoadKeys reads the journal's keys from dir, creating them on first use (whatever opens the journal
// for writing calls it).
func LoadKeys(dir string) (note.Signer, note.Verifier, error) {
	sp, vp := filepath.Join(dir, SignerFile), filepath.Join(dir, VerifierFile)
	skey, err := os.ReadFile(sp)
	if errors.Is(err, os.ErrNotExist) {
		s, v, err := note.GenerateKey(rand.Reader, DefaultOrigin)
		if err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(sp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("journal: %w", err)
		}
		_, err = f.WriteString(s + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.WriteFile(vp, []byte(v+"\n"), 0o644)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("journal: %w", err)
		}
		skey = []byte(s)
	} else if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %s: %w", sp, err)
	}
	verifier, err := ReadVerifier(vp)
	if err != nil {
		return nil, nil, err
	}
	if verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return nil, nil, fmt.Errorf("journal: %s does not match %s", vp, sp)
	}
	return signer, verifier, nil
}

// ReadVerifier reads a verifier key file (note.GenerateKey's vkey, one line).
func ReadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal: verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return v, nil
}
