package gate_test

import (
	"context"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/gate"
)

func TestAttestations(t *testing.T) { amanetest.Each(t, testAttestations) }

// testAttestations: the nominative attestation lists the employer's declared people; the third-party
// one has the figures and no line; the salary one has the person's own lines only; the scope rules
// hold and are journaled; the public status follows revocation.
func testAttestations(t *testing.T, r *amanetest.Registry) {
	f, d := declFixture(t, r)
	if res, err := submitFile(t, f, f.ctx, "", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
		t.Fatalf("declaration: %+v, %v", res, err)
	}
	issue := func(ctx context.Context, req gate.AttestationRequest) (*attest.Document, error) {
		t.Helper()
		docs, errs, err := f.gate.Attestations(ctx, []gate.AttestationRequest{req})
		if err != nil {
			t.Fatal(err)
		}
		return docs[0], errs[0]
	}
	own := amanetest.As(&amane.Principal{ID: "account/90", Role: amane.RoleEmployer, Affiliation: "1234567"})
	nom, err := issue(own, gate.AttestationRequest{Kind: attest.KindEmployees, Affiliation: "1234567"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nom.Lines) != 5 || len(nom.Summary.Months) != 1 || nom.Summary.Months[0].Headcount != 5 || nom.Summary.Months[0].Payroll != 1900000 {
		t.Fatalf("nominative: %d lines, months %+v", len(nom.Lines), nom.Summary.Months)
	}
	if _, err := attest.ParseCode(nom.Summary.Code); err != nil {
		t.Fatalf("code %q: %v", nom.Summary.Code, err)
	}
	third, err := issue(own, gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "1234567"})
	if err != nil || len(third.Lines) != 0 || third.Person != nil || third.Summary.Months[0].Payroll != 1900000 {
		t.Fatalf("third-party: %+v, %v", third, err)
	}
	// The salary attestation: the insured person's own month, nobody else's.
	id, err := f.gate.ResolveInsured(amanetest.Context(amane.RoleSystem), "223456789")
	if err != nil {
		t.Fatal(err)
	}
	me := amanetest.As(&amane.Principal{ID: "account/92", Role: amane.RoleInsured, EmployeeID: id})
	sal, err := issue(me, gate.AttestationRequest{Kind: attest.KindSalary})
	if err != nil {
		t.Fatal(err)
	}
	if sal.Person == nil || sal.Person.Imm != "223456789" || len(sal.Lines) != 1 || sal.Lines[0].Salary != 450000 || len(sal.Summary.Months) != 0 {
		t.Fatalf("salary attestation: person %+v, lines %+v, months %+v", sal.Person, sal.Lines, sal.Summary.Months)
	}
	for _, l := range sal.Lines {
		if strings.Contains(strings.ToUpper(l.Surname+l.FirstName), "IDRISSI") {
			t.Errorf("another person's line in a salary attestation: %+v", l)
		}
	}
	// Scope: another employer's user, an insured person asking for an employer's list, an agent of
	// another agency: refused and journaled (out of scope answers as an unknown affiliation would).
	other := amanetest.As(&amane.Principal{ID: "account/91", Role: amane.RoleEmployer, Affiliation: "7654321"})
	if _, err := issue(other, gate.AttestationRequest{Kind: attest.KindEmployees, Affiliation: "1234567"}); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Errorf("another employer's nominative attestation: %v", err)
	}
	if e := last(t, r, "account/91"); e.Outcome != "denied" {
		t.Errorf("not journaled as denied: %+v", e)
	}
	if _, err := issue(me, gate.AttestationRequest{Kind: attest.KindEmployees, Affiliation: "1234567"}); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Errorf("an insured person asking for the nominative list: %v", err)
	}
	agent := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/93", Role: amane.RoleAgent, Agency: "RABAT-AGDAL"}),
		amane.Purpose{Code: "dossier", Reference: "DOS-2026/0001"})
	if _, err := issue(agent, gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "1234567"}); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Errorf("an agent of another agency: %v", err)
	}

	// The public status, then revocation.
	s, status, err := f.gate.AttestationStatus(context.Background(), strings.ToLower(third.Summary.Code))
	if err != nil || status != amane.AttestationValid || s.Months[0].Headcount != 5 {
		t.Fatalf("status: %+v %s %v", s, status, err)
	}
	if err := f.gate.RevokeAttestation(amanetest.Context(amane.RoleSystem), third.Summary.Code, "issued in error"); err != nil {
		t.Fatal(err)
	}
	if _, status, _ := f.gate.AttestationStatus(context.Background(), third.Summary.Code); status != amane.AttestationRevoked {
		t.Errorf("after revocation: %s", status)
	}
	if _, _, err := f.gate.AttestationStatus(context.Background(), "AMN-00000-00000"); amane.ErrorCode(err) != amane.ENOTFOUND && amane.ErrorCode(err) != amane.EINVALID {
		t.Errorf("an unknown code: %v", err)
	}
}
