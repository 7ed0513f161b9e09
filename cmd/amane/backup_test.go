package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"amane/journal"
	"amane/postgres/pgtest"

	"filippo.io/age"
)

var recipientRE = regexp.MustCompile(`(?m)^Recipient: (age1[0-9a-z]+)$`)

// TestBackupRestoreCLI backs a registry up, restores it into a new data directory on the other kind
// of store holding only a copy of the keyring, and reads the same people back from both.
func TestBackupRestoreCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
	t.Setenv("AMANE_DATABASE_URL", "")
	t.Setenv("AMANE_BACKUP_IDENTITY_FILE", "")
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			data, csvDir, keyDir := filepath.Join(root, "data"), filepath.Join(root, "csv"), filepath.Join(root, "keys")
			restored, file := filepath.Join(root, "restored"), filepath.Join(root, "out", "registry.age")
			for _, d := range []string{keyDir, filepath.Dir(file)} {
				os.MkdirAll(d, 0o700)
			}
			identity := filepath.Join(keyDir, "backup-identity.txt")
			initArgs, restoreArgs := []string{"init", "--data", data}, []string{"restore", "--data", restored, "--from", file, "--identity", identity}
			if kind == "postgres" { // PostgreSQL to SQLite
				initArgs = append(initArgs, "--db", pgtest.URL(t))
			} else { // SQLite to PostgreSQL
				restoreArgs = append(restoreArgs, "--db", pgtest.URL(t))
			}
			mustRun(t, initArgs...)
			mustRun(t, "synth", "--employers", "20", "--employees", "200", "--seed", "5", "--out", csvDir)
			mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
			rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
			mustRun(t, "erase", "--data", data, "--imm", rows[3][0], "--reason", "retention limit")

			out := mustRun(t, "backup", "keygen", "--out", identity)
			m := recipientRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("keygen printed no recipient:\n%s", out)
			}
			if st, _ := os.Stat(identity); st == nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("identity file %v", st)
			}
			before, _ := os.ReadFile(identity)
			if code, _, _ := amaneCLI(t, "backup", "keygen", "--out", identity); code == 0 {
				t.Fatal("keygen overwrote an identity")
			}
			if after, _ := os.ReadFile(identity); !bytes.Equal(before, after) {
				t.Fatal("keygen changed an existing identity")
			}

			if code, _, errOut := amaneCLI(t, "backup", "--data", data, "--out", file); code != 2 || !strings.Contains(errOut, "no backup recipient") {
				t.Fatalf("backup without recipients: exit %d %s", code, errOut)
			}
			secret := strings.TrimSpace(string(before[bytes.LastIndexByte(bytes.TrimSpace(before), '\n')+1:]))
			if code, _, errOut := amaneCLI(t, "backup", "--data", data, "--out", file, "--recipient", secret); code != 2 || strings.Contains(errOut, secret) {
				t.Fatalf("backup to a secret key: exit %d %s", code, errOut)
			}
			if _, err := os.Stat(file); err == nil {
				t.Fatal("a refused backup left a file")
			}
			os.WriteFile(filepath.Join(data, "backup-recipients.txt"), []byte("# ops team\n"+m[1]+"\n"), 0o600)
			out = mustRun(t, "backup", "--data", data, "--out", file)
			if !strings.Contains(out, "employee 200") || !strings.Contains(out, "erasure 1") {
				t.Fatalf("backup: %s", out)
			}
			if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("backup file %v %v", st, err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
				t.Fatalf("backup directory holds %d files, want the backup only", len(entries))
			}

			out = mustRun(t, "backup", "verify", "--identity", identity, file)
			if !strings.Contains(out, "complete and intact") || !strings.Contains(out, "source:  "+kind) || !strings.Contains(out, "employer 20,") {
				t.Fatalf("verify: %s", out)
			}
			t.Setenv("AMANE_BACKUP_IDENTITY_FILE", identity)
			mustRun(t, "backup", "verify", file)
			t.Setenv("AMANE_BACKUP_IDENTITY_FILE", "")
			if code, _, errOut := amaneCLI(t, "backup", "verify", file, "--identity", secret); code != 2 || strings.Contains(errOut, secret) {
				t.Fatalf("an identity given as a flag value: exit %d %s", code, errOut)
			}

			// Only the keyring goes to the new directory; restore makes the rest.
			if code, _, errOut := amaneCLI(t, restoreArgs...); code != 1 || !strings.Contains(errOut, "no keyring") {
				t.Fatalf("restore without keys: exit %d %s", code, errOut)
			}
			kr, err := os.ReadFile(filepath.Join(data, "keyring.json"))
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(restored, 0o700)
			os.WriteFile(filepath.Join(restored, "keyring.json"), kr, 0o600)
			for _, f := range []string{journal.SignerFile, journal.VerifierFile} { // the journal's checkpoints are signed by the source
				b, err := os.ReadFile(filepath.Join(data, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(restored, f), b, 0o600)
			}
			out = mustRun(t, restoreArgs...)
			if !strings.Contains(out, "employee 200") {
				t.Fatalf("restore: %s", out)
			}
			for _, n := range []int{1, 2, 100, 200} {
				a := mustRun(t, "employee", "show", "--data", data, "--imm", rows[n][0])
				b := mustRun(t, "employee", "show", "--data", restored, "--imm", rows[n][0])
				if a != b || !strings.Contains(a, `"nom"`) {
					t.Fatalf("employee %d differs after restore:\n%s\n%s", n, a, b)
				}
			}
			aff := rows[1][7]
			if a, b := mustRun(t, "employer", "show", "--data", data, "--affiliation", aff), mustRun(t, "employer", "show", "--data", restored, "--affiliation", aff); a != b {
				t.Fatalf("employer differs after restore:\n%s\n%s", a, b)
			}
			if code, _, _ := amaneCLI(t, "employee", "show", "--data", restored, "--imm", rows[3][0]); code != 1 {
				t.Fatal("the erased person is readable after restore")
			}
			if code, _, errOut := amaneCLI(t, restoreArgs...); code != 1 || !strings.Contains(errOut, "not empty") {
				t.Fatalf("second restore: exit %d %s", code, errOut)
			}

			// Neither the file nor the plaintext inside it holds personal data in clear.
			values := personalValues(t, csvDir)
			b, _ := os.ReadFile(file)
			// The file is age ciphertext, uniformly random bytes: a 4-byte value turns up in it by
			// chance about one run in a hundred (a few hundred KB × the 4-letter names × 256^-4), so
			// the file is scanned for the values of 6 bytes or more (256^-6 per position: never by
			// chance), which a file written in clear would show by the thousand. The plaintext inside
			// is scanned for every value below.
			long := map[string]string{}
			for v, kind := range values {
				if len(v) >= 6 {
					long[v] = kind
				}
			}
			if len(long) < len(values)/2 {
				t.Fatalf("only %d of %d personal values have 6 bytes or more: the file scan would be blind", len(long), len(values))
			}
			scan(t, "the backup file", b, long)
			ids, err := readIdentities(identity)
			if err != nil {
				t.Fatal(err)
			}
			r, err := age.Decrypt(bytes.NewReader(b), ids...)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if n, kinds := findTokens(plain, values); n > 0 {
				t.Errorf("the backup's plaintext (%d bytes) holds %d personal values in clear, kinds %v", len(plain), n, kinds)
			}
			if n, _ := findTokens([]byte(strings.Join(rows[1], ",")), values); n == 0 {
				t.Fatal("the scanner finds nothing in a CSV row")
			}
			if n, _ := findTokens([]byte(`{"nom":"`+rows[1][4]+`"}`), values); n == 0 {
				t.Fatal("the scanner finds nothing in a JSON field")
			}
		})
	}
}
