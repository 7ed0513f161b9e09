package amane_test

import (
	"encoding/json"
	"testing"

	"amane"
)

// TestAttestationSummaryJSON pins the summary's JSON: it is signed inside every PDF, stored as
// AttestationRecord.Summary and served by GET /verify/{code}, so a renamed tag would break every
// attestation already issued.
func TestAttestationSummaryJSON(t *testing.T) {
	s := amane.AttestationSummary{Code: "AMN-7K3Q2-M9XD4", Kind: amane.AttestationKindThirdParty, Issuer: "Caisse", Affiliation: "1234567",
		Employer: "ATLAS SARL", From: "202501", To: "202502", Issued: "2025-03-01T08:00:00Z", Expires: "2025-05-30T08:00:00Z",
		Months: []amane.AttestationMonth{{Period: "202501", Headcount: 3, Payroll: 1000000}}}
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"code":"AMN-7K3Q2-M9XD4","type":"affiliation-declaration","emetteur":"Caisse","affiliation":"1234567",` +
		`"raison_sociale":"ATLAS SARL","du":"202501","au":"202502","mois":[{"periode":"202501","effectif":3,"masse_salariale":1000000}],` +
		`"delivree_le":"2025-03-01T08:00:00Z","expire_le":"2025-05-30T08:00:00Z"}`
	if string(b) != want {
		t.Fatalf("summary JSON\n got %s\nwant %s", b, want)
	}
	s.Months, s.Kind = nil, amane.AttestationKindSalary // a salary attestation: no figure, no "mois"
	b, _ = json.Marshal(&s)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["mois"] != nil || m["type"] != "salaire" {
		t.Fatalf("salary summary %s", b)
	}
}
