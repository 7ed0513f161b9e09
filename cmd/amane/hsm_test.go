package main

import (
	"amane/journal"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"amane/postgres/pgtest"
	"amane/vault/hsm/hsmtest"
)

// TestHSMEndToEnd runs a registry whose key-encryption keys live in a SoftHSM2 token, on PostgreSQL:
// init, load, serve, rotate while serving, retire, reindex, back up, restore into another database,
// and read back in fresh processes. No keyring file
// and no passphrase are involved; the KEKs never leave the token.
func TestHSMEndToEnd(t *testing.T) {
	cfg := hsmtest.Token(t)
	t.Setenv("AMANE_PASSPHRASE", "") // prove the passphrase plays no part
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	out := mustRun(t, "init", "--data", data, "--db", pgtest.URL(t), "--hsm-module", cfg.Module, "--hsm-token", cfg.TokenLabel,
		"--hsm-key", cfg.KeyLabel, "--hsm-pin-file", cfg.PINFile)
	if !strings.Contains(out, "HSM token") || tokenRE.FindString(out) == "" {
		t.Fatalf("init: %s", out)
	}
	if _, err := os.Stat(filepath.Join(data, keyringFile)); err == nil {
		t.Fatal("an HSM data directory has a keyring file")
	}
	conf, _ := os.ReadFile(filepath.Join(data, configFile))
	if strings.Contains(string(conf), "1234") {
		t.Fatalf("amane.json holds the PIN: %s", conf)
	}
	mustRun(t, "synth", "--employers", "10", "--employees", "200", "--seed", "5", "--out", csvDir)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
	show := func() string { return mustRun(t, "employee", "show", "--data", data, "--imm", rows[3][0]) }
	before := show()
	var e struct{ Nom string }
	json.Unmarshal([]byte(before), &e)
	if e.Nom != rows[3][3] {
		t.Fatalf("read back %q, want %q", e.Nom, rows[3][3])
	}

	_, _, logs, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
	defer stop()
	out = mustRun(t, "keys", "rotate", "--data", data, "--settle", "0s")
	if !strings.Contains(out, "version 2 is current") || !strings.Contains(out, "Rewrapped 210 data keys") {
		t.Fatalf("rotate: %s", out)
	}
	mustRun(t, "keys", "retire", "--data", data, "1")
	if code := stop(); code != 0 {
		t.Fatalf("serve: exit %d %s", code, logs.String())
	}
	if after := show(); after != before {
		t.Fatalf("after rotation and retirement the record reads\n%s\nnot\n%s", after, before)
	}
	if out := mustRun(t, "keys", "reindex", "--data", data); !strings.Contains(out, "blind-index key version 2") {
		t.Fatalf("reindex: %s", out)
	}
	if after := show(); after != before {
		t.Fatalf("after reindex the record reads\n%s\nnot\n%s", after, before)
	}
	t.Run("BackupRestore", func(t *testing.T) {
		// A backup restored into another database, with the HSM configuration and the wrapped index
		// keys copied: the same registry, read through the same token.
		idFile := filepath.Join(t.TempDir(), "backup-identity.txt")
		recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(mustRun(t, "backup", "keygen", "--out", idFile))
		file := filepath.Join(t.TempDir(), "registry.age")
		mustRun(t, "backup", "--data", data, "--out", file, "--recipient", recipient)
		other, db := filepath.Join(t.TempDir(), "restored"), pgtest.URL(t)
		os.MkdirAll(other, 0o700)
		for _, f := range []string{configFile, indexKeyFile, "index-key-v2.json", journal.SignerFile, journal.VerifierFile} {
			b, err := os.ReadFile(filepath.Join(data, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(other, f), b, 0o600)
		}
		mustRun(t, "restore", "--data", other, "--db", db, "--from", file, "--identity", idFile)
		if got := mustRun(t, "employee", "show", "--data", other, "--db", db, "--imm", rows[3][0]); got != before {
			t.Fatalf("restored record reads\n%s\nnot\n%s", got, before)
		}
	})
	var st keyStatus
	json.Unmarshal([]byte(mustRun(t, "keys", "status", "--data", data)), &st)
	if len(st.Versions) != 1 || st.Versions[0].Version != 2 || st.Versions[0].DataKeys != 210 {
		t.Fatalf("status: %+v", st)
	}
	t.Run("AttestationSignedOnTheToken", func(t *testing.T) {
		decl := filepath.Join(t.TempDir(), "csv")
		mustRun(t, "synth", "--employers", "10", "--employees", "200", "--seed", "5", "--out", decl, "--months", "1", "--last-period", "202609")
		mustRun(t, "declare", "--data", data, filepath.Join(decl, "declarations", "DS_BULK_202609.txt"))
		pdf := filepath.Join(t.TempDir(), "a.pdf")
		mustRun(t, "attest", "--data", data, "--affiliation", rows[3][7], "--out", pdf)
		if _, err := os.Stat(filepath.Join(data, attestKeyFile)); err == nil {
			t.Fatal("with an HSM, the attestation key is a file")
		}
		if out := mustRun(t, "verify", "--data", data, pdf); !strings.Contains(out, "valid") {
			t.Fatalf("verify: %s", out)
		}
	})
	t.Run("ErrWrongPIN", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "pin")
		os.WriteFile(bad, []byte("9999\n"), 0o600)
		c := cfg
		c.PINFile = bad
		b, _ := json.Marshal(config{DB: "", HSM: &c})
		other := filepath.Join(t.TempDir(), "data")
		os.MkdirAll(other, 0o700)
		os.WriteFile(filepath.Join(other, configFile), b, 0o600)
		if code, _, errOut := amaneCLI(t, "keys", "status", "--data", other); code != 1 || strings.Contains(errOut, "9999") || !strings.Contains(strings.ToLower(errOut), "pin") {
			t.Fatalf("wrong PIN: exit %d %s", code, errOut)
		}
	})
}
