// Package hsmtest gives tests a fresh SoftHSM2 token.
package hsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"amane/vault/hsm"
)

// Module is where Debian's softhsm2 package installs the PKCS#11 library.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// PIN is the user PIN of the tokens Token makes.
const PIN = "1234"

const missing = "SoftHSM2 not found: apt-get install softhsm2"

// Token initializes a SoftHSM2 token in t.TempDir() and returns a Config for it (KeyLabel "amane-kek",
// the PIN in a file). It skips the test when SoftHSM2 is missing, or fails it if AMANE_TEST_SOFTHSM=1.
//
// SoftHSM reads SOFTHSM2_CONF (set here with t.Setenv) when the library is initialized, and the
// library is shared by the whole process: close every HSM opened on the token before the test ends
// (t.Cleanup), so that the next test's token is seen. For the same reason, do not use it in parallel
// tests, nor twice in one test while an HSM on the first token is open.
func Token(t testing.TB) hsm.Config {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if _, serr := os.Stat(Module); err != nil || serr != nil {
		if os.Getenv("AMANE_TEST_SOFTHSM") == "1" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	const label = "amane-test"
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "5678")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return hsm.Config{Module: Module, TokenLabel: label, KeyLabel: "amane-kek", PINFile: pinFile}
}
