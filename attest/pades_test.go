package attest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane/attest"

	"github.com/digitorus/pkcs7"
)

func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "pki")
	defer os.RemoveAll(dir)
	if err := attest.CreateDemoPKI(dir); err != nil {
		panic(err)
	}
	signer, err := attest.LoadSigner(filepath.Join(dir, attest.DemoCertFile), filepath.Join(dir, attest.DemoKeyFile))
	if err != nil {
		panic(err)
	}
	trust, err := attest.LoadTrust(filepath.Join(dir, attest.DemoCAFile))
	if err != nil {
		panic(err)
	}
	pdf, err := attest.Render(sampleDoc("AMN-7K3Q2-M9XD0"))
	if err != nil {
		panic(err)
	}
	signed, err := signer.Sign(pdf, time.Now())
	if err != nil {
		panic(err)
	}
	r := attest.Verify(signed, trust, time.Now())
	fmt.Println(r.Valid, r.Summary.Code)

	signed[len("%PDF-1.")]++ // the header's PDF version changed
	fmt.Println(attest.Verify(signed, trust, time.Now()).Reasons[0])
	// Output:
	// true AMN-7K3Q2-M9XD0
	// the signed digest is not the digest of the file: the signed bytes were changed
}

func TestCreateDemoPKI(t *testing.T) {
	dir := t.TempDir()
	if err := attest.CreateDemoPKI(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, attest.DemoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	s, err := attest.LoadSigner(filepath.Join(dir, attest.DemoCertFile), filepath.Join(dir, attest.DemoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cert := s.Certificate()
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || cert.IsCA {
		t.Errorf("signing certificate key usage %b, CA %v", cert.KeyUsage, cert.IsCA)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < 3*365*24*time.Hour || life > 3*366*24*time.Hour+2*time.Hour {
		t.Errorf("signing certificate lifetime %v, want 3 years", life)
	}
	if cert.Issuer.CommonName != "Amane démo — autorité de test" {
		t.Errorf("issuer %q", cert.Issuer.CommonName)
	}
	trust, err := attest.LoadTrust(filepath.Join(dir, attest.DemoCAFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: trust, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the signing certificate does not chain to the CA: %v", err)
	}

	t.Run("ErrExist", func(t *testing.T) {
		if err := attest.CreateDemoPKI(dir); !errors.Is(err, fs.ErrExist) {
			t.Errorf("second CreateDemoPKI in the same directory: %v, want ErrExist", err)
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other := t.TempDir()
		if err := attest.CreateDemoPKI(other); err != nil {
			t.Fatal(err)
		}
		_, err := attest.LoadSigner(filepath.Join(dir, attest.DemoCertFile), filepath.Join(other, attest.DemoKeyFile))
		if err == nil {
			t.Error("LoadSigner accepted another certificate's key")
		}
	})
	t.Run("ErrNotPEM", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(bad, []byte("not a certificate"), 0o644)
		if _, err := attest.LoadTrust(bad); err == nil {
			t.Error("LoadTrust accepted a file without certificates")
		}
	})
}

func TestNewSigner(t *testing.T) {
	pki := newPKI(t)
	pdf := samplePDF(t)
	t.Run("ErrNoChain", func(t *testing.T) {
		if _, err := attest.NewSigner(nil, pki.key).Sign(pdf, time.Now()); err == nil {
			t.Error("signed without a certificate")
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if _, err := attest.NewSigner(pki.chain, other).Sign(pdf, time.Now()); err == nil {
			t.Error("signed with a key that is not the certificate's")
		}
	})
	t.Run("ErrBrokenChain", func(t *testing.T) {
		other := newPKI(t)
		if _, err := attest.NewSigner([]*x509.Certificate{pki.chain[0], other.chain[1]}, pki.key).Sign(pdf, time.Now()); err == nil {
			t.Error("signed with a chain whose second certificate did not issue the first")
		}
	})
	t.Run("ErrSignedAlready", func(t *testing.T) {
		signed, err := pki.signer.Sign(pdf, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pki.signer.Sign(signed, time.Now()); err == nil {
			t.Error("signed a signed document again")
		}
	})
	t.Run("ErrNotPDF", func(t *testing.T) {
		if _, err := pki.signer.Sign([]byte("%PDF-1.4\nnothing"), time.Now()); err == nil {
			t.Error("signed a file without a cross-reference table")
		}
	})
}

// TestSignStructure checks the incremental update byte by byte where it is fixed: the unsigned
// file is kept as it is, and the update holds what the package comment says.
func TestSignStructure(t *testing.T) {
	pki := newPKI(t)
	pdf := samplePDF(t)
	at := time.Date(2026, 3, 15, 10, 4, 5, 0, time.FixedZone("", 3600))
	signed, err := pki.signer.Sign(pdf, at)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(signed, pdf) {
		t.Fatal("the signed file does not start with the unsigned one")
	}
	update := string(signed[len(pdf):])
	for _, want := range []string{
		"/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20260315090405+00'00')",
		"/AcroForm <</Fields [",
		"/SigFlags 3>>",
		"/Annots [",
		"/FT /Sig",
		"/Rect [0 0 0 0]",
		"/Prev " + strconv.Itoa(startxref(t, pdf)) + ">>",
	} {
		if !strings.Contains(update, want) {
			t.Errorf("the update lacks %q", want)
		}
	}
	if !strings.HasSuffix(update, "%%EOF\n") {
		t.Error("the update does not end with the end-of-file marker")
	}

	br := byteRange(t, signed)
	if br[0] != 0 || signed[br[1]] != '<' || signed[br[2]-1] != '>' || br[2]+br[3] != len(signed) {
		t.Fatalf("byte range %v does not cover the file but the /Contents string (length %d)", br, len(signed))
	}

	// The CMS: detached, SHA-256, the chain, and exactly the signed attributes PAdES B-B takes.
	der, _ := hex.DecodeString(string(signed[br[1]+1 : br[2]-1]))
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(outer.FullBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(p7.Content) != 0 {
		t.Error("the CMS is not detached")
	}
	if len(p7.Certificates) != 2 || !p7.Certificates[0].Equal(pki.chain[0]) || !p7.Certificates[1].Equal(pki.chain[1]) {
		t.Error("the CMS does not carry the chain, signer first")
	}
	var got []string
	for _, a := range p7.Signers[0].AuthenticatedAttributes {
		got = append(got, a.Type.String())
	}
	want := []string{
		"1.2.840.113549.1.9.3",       // content-type
		"1.2.840.113549.1.9.4",       // message-digest
		"1.2.840.113549.1.9.16.2.47", // signing-certificate-v2
	}
	if strings.Join(sorted(got), " ") != strings.Join(sorted(want), " ") {
		t.Errorf("signed attributes %v, want %v (no signing-time: EN 319 142-1)", got, want)
	}
	p7.Content = append(append([]byte{}, signed[:br[1]]...), signed[br[2]:]...)
	if err := p7.Verify(); err != nil {
		t.Errorf("pkcs7 does not verify the signature: %v", err)
	}
}

func TestSignRSA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	pki := newPKIWithKey(t, key)
	signed, err := pki.signer.Sign(samplePDF(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := attest.Verify(signed, pki.trust, time.Now()); len(reasonsBut(r, attest.ReasonSummary, attest.ReasonFigures, attest.ReasonQR)) != 0 {
		t.Errorf("RSA signature: %v", r.Reasons)
	}
	pdfsigValid(t, signed)
}

// TestPdfsig checks that Poppler, on NSS, finds the signature valid. Certificate validation is off
// (-nocert): the demo CA is in no NSS database.
func TestPdfsig(t *testing.T) {
	pki := newPKI(t)
	signed, err := pki.signer.Sign(rendered(t, sampleDoc(attest.NewCode())), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := pdfsigValid(t, signed)
	for _, want := range []string{"Signature Type: ETSI.CAdES.detached", "Total document signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("pdfsig output lacks %q:\n%s", want, out)
		}
	}
}

// pdfsigValid runs pdfsig -nocert on pdf and fails unless it reports the signature valid. It skips
// when pdfsig is missing, unless AMANE_TEST_POPPLER=1.
func pdfsigValid(t *testing.T, pdf []byte) string {
	t.Helper()
	path, err := exec.LookPath("pdfsig")
	if err != nil {
		if os.Getenv("AMANE_TEST_POPPLER") == "1" {
			t.Fatal("pdfsig not found and AMANE_TEST_POPPLER=1 (apt-get install poppler-utils)")
		}
		t.Skip("pdfsig not found (apt-get install poppler-utils; AMANE_TEST_POPPLER=1 makes this a failure)")
	}
	file := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-nocert", file).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Signature Validation: Signature is Valid.") {
		t.Fatalf("pdfsig does not find the signature valid:\n%s", out)
	}
	return string(out)
}

// pki is a demo PKI created for a test.
type pki struct {
	chain  []*x509.Certificate
	key    crypto.Signer
	signer *attest.Signer
	trust  *x509.CertPool
}

// newPKI creates a demo PKI with CreateDemoPKI and loads it as the CLI does.
func newPKI(t testing.TB) *pki {
	t.Helper()
	dir := t.TempDir()
	if err := attest.CreateDemoPKI(dir); err != nil {
		t.Fatal(err)
	}
	s, err := attest.LoadSigner(filepath.Join(dir, attest.DemoCertFile), filepath.Join(dir, attest.DemoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := attest.LoadTrust(filepath.Join(dir, attest.DemoCAFile))
	if err != nil {
		t.Fatal(err)
	}
	chainPEM, _ := os.ReadFile(filepath.Join(dir, attest.DemoCertFile))
	var chain []*x509.Certificate
	for _, b := range regexp.MustCompile(`(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n`).FindAll(chainPEM, -1) {
		chain = append(chain, parsePEMCert(t, b))
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, attest.DemoKeyFile))
	return &pki{chain: chain, key: parsePEMKey(t, keyPEM), signer: s, trust: trust}
}

// newPKIWithKey makes a CA and a signing certificate for key (any crypto.Signer, as an HSM's is).
func newPKIWithKey(t testing.TB, key crypto.Signer) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 24), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test signer"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 24), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	trust := x509.NewCertPool()
	trust.AddCert(ca)
	chain := []*x509.Certificate{cert, ca}
	return &pki{chain: chain, key: key, signer: attest.NewSigner(chain, key), trust: trust}
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func startxref(t testing.TB, pdf []byte) int {
	t.Helper()
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func byteRange(t testing.TB, pdf []byte) [4]int {
	t.Helper()
	m := regexp.MustCompile(`/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no /ByteRange")
	}
	var br [4]int
	for i := range br {
		br[i], _ = strconv.Atoi(string(m[i+1]))
	}
	return br
}
