package hsm_test

import (
	"path/filepath"
	"testing"
	"time"

	"amane/attest"
	"amane/vault/hsm/hsmtest"
)

// TestAttestationSignedOnTheToken: a signing key generated on the token (its private half never
// leaves), a certificate issued for its public half, an attestation signed through it verifies; a
// second handle finds the key by label; a second key with the same label is refused.
func TestAttestationSignedOnTheToken(t *testing.T) {
	cfg := hsmtest.Token(t)
	h := create(t, cfg)
	key, err := h.GenerateSigner("amane-attest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.GenerateSigner("amane-attest"); err == nil {
		t.Error("a second key pair with the same label")
	}
	dir := t.TempDir()
	if err := attest.CreateDemoPKIFor(dir, key.Public()); err != nil {
		t.Fatal(err)
	}
	again, err := open(t, cfg).Signer("amane-attest")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.LoadSignerWith(filepath.Join(dir, attest.DemoCertFile), again)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	doc := &attest.Document{VerifyURL: "https://amane.example.ma/verify",
		Summary: attest.Summary{Code: attest.NewCode(), Kind: attest.KindThirdParty, Issuer: "Amane", Affiliation: "1234567",
			Employer: "ATLAS NEGOCE SARL", From: "202410", To: "202410", Months: []attest.Month{{Period: "202410", Headcount: 3, Payroll: 1550000}},
			Issued: now.Format(time.RFC3339), Expires: now.Add(attest.Validity).Format(time.RFC3339)},
		Company: attest.Company{Name: "ATLAS NEGOCE SARL", Affiliation: "1234567"}}
	pdf, err := attest.Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign(pdf, now)
	if err != nil {
		t.Fatal(err)
	}
	trust, err := attest.LoadTrust(filepath.Join(dir, attest.DemoCAFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := attest.Verify(signed, trust, time.Now()); !r.Valid {
		t.Fatalf("signed on the token, not valid: %v", r.Reasons)
	}
	if _, err := h.Signer("no-such-key"); err == nil {
		t.Error("a key found for an unknown label")
	}
}
