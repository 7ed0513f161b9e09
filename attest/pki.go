package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Demo PKI file names, as CreateDemoPKI writes them and the CLI's defaults read them.
const (
	DemoCAFile   = "attest-ca.pem"   // the demo CA certificate: the verifier's trust anchor
	DemoCertFile = "attest-cert.pem" // the signing certificate, then the CA: the chain put in every signature
	DemoKeyFile  = "attest-key.pem"  // the signing key, PKCS #8, mode 0600
)

// Lifetimes of the demo certificates.
const (
	demoCALifetime     = 10 * 365 * 24 * time.Hour
	demoSignerLifetime = 3 * 365 * 24 * time.Hour
)

// CreateDemoPKI writes a demonstration PKI into dir: a self-signed CA "Amane démo — autorité de test"
// (10 years) and an Amane signing certificate it issues (3 years, digitalSignature and
// nonRepudiation), as DemoCAFile, DemoCertFile (signer then CA) and DemoKeyFile. The CA's private
// key is not kept: the demo CA issues exactly one certificate. It refuses to overwrite an existing
// file, so that a key in use is never lost.
//
// Both keys are ECDSA P-256: a signature costs tens of microseconds where RSA-3072 costs
// milliseconds, which matters when every employer's attestation is signed in one batch, and
// every PAdES validator accepts it.
func CreateDemoPKI(dir string) error { return CreateDemoPKIFor(dir, nil) }

// CreateDemoPKIFor is CreateDemoPKI for a signing key held elsewhere — an HSM's, whose private half
// never leaves the token: the certificate is issued for pub and no key file is written. pub nil: a
// key is generated and written to DemoKeyFile.
func CreateDemoPKIFor(dir string, pub crypto.PublicKey) error {
	// Checked first so that a refusal leaves nothing behind; O_EXCL below closes the race.
	for _, name := range []string{DemoKeyFile, DemoCertFile, DemoCAFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("attest: %w: %s", fs.ErrExist, filepath.Join(dir, name))
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:   "Amane démo — autorité de test",
			Organization: []string{"Amane (démonstration)"},
		},
		// Back-dated by an hour so that a verifier whose clock is slightly late accepts a fresh PKI.
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(demoCALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	var key *ecdsa.PrivateKey
	if pub == nil {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
		pub = key.Public()
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:   "Amane — signature des attestations (démo)",
			Organization: []string{"Amane (démonstration)"},
		},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(demoSignerLifetime),
		// No extended key usage: NSS (pdfsig, Firefox) and Go both accept a certificate without
		// one for document signatures, while some reject an EKU they do not know.
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return err
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	chainPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caPEM...)
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{DemoCertFile, chainPEM, 0o644},
		{DemoCAFile, caPEM, 0o644},
	}
	if key != nil {
		pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{DemoKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600})
	}
	for _, f := range files {
		if err := writeNew(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// writeNew creates path with mode, failing if it exists.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// randomSerial returns a positive 128-bit serial number (RFC 5280 §4.1.2.2 allows up to 20 octets).
func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

// LoadSigner reads a signing certificate chain (PEM, the signer first, then its issuers) and its
// private key (PEM, PKCS #8), and checks that the key is the certificate's.
func LoadSigner(certFile, keyFile string) (*Signer, error) {
	return loadSigner(certFile, keyFile, nil)
}

// LoadSignerWith is LoadSigner for a key held elsewhere (an HSM's crypto.Signer): the chain from
// certFile, the key given.
func LoadSignerWith(certFile string, key crypto.Signer) (*Signer, error) {
	return loadSigner(certFile, "", key)
}

func loadSigner(certFile, keyFile string, key crypto.Signer) (*Signer, error) {
	chainPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	chain, err := parseCertificates(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	if key != nil {
		s := NewSigner(chain, key)
		if s.err != nil {
			return nil, fmt.Errorf("%s: %w", certFile, s.err)
		}
		return s, nil
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PEM block \"PRIVATE KEY\" (PKCS #8)", keyFile)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%s: data after the key", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key type %T cannot sign", keyFile, k)
	}
	s := NewSigner(chain, key)
	if s.err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, s.err)
	}
	return s, nil
}

// LoadTrust reads the PEM certificates a verifier trusts as roots (the CA's public certificate).
func LoadTrust(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// parseCertificates reads one or more PEM "CERTIFICATE" blocks and nothing else.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not a CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return nil, errors.New("data that is not a PEM certificate")
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs, nil
}
