package gate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGateImportsNoDocumentStack: the security core decides, journals, opens and masks; rendering a
// PDF, drawing a QR code and signing CMS belong to package attest, which the adapters call with the
// gate's amane.AttestationDocument. Checked on the import graph (every package the gate links,
// directly or not), so that an import through any intermediate package is caught too.
func TestGateImportsNoDocumentStack(t *testing.T) {
	forbidden := []string{
		"github.com/go-pdf/fpdf",     // PDF rendering
		"rsc.io/qr",                  // QR codes
		"github.com/digitorus/pkcs7", // CMS signatures
		"amane/attest",               // and attest itself, with attest/batch
	}
	out, err := exec.Command("go", "list", "-deps", "amane/gate").Output()
	if err != nil {
		t.Fatalf("go list -deps amane/gate: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "amane/gate" {
		t.Fatalf("go list -deps amane/gate does not end with the gate itself: %q", deps)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("package gate depends on %s", dep)
			}
		}
	}
}
