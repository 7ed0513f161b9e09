package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The v1 registry fixture (testdata/v1/): a data directory as `amane init`, `load`, `declare`, reads,
// an attestation and an erasure left it — the sealed keyring, the SQLite store (checkpointed, no
// -wal file), the journal in its own file with its signed checkpoints and witness file, the journal's
// signing key — and a backup of it made by `amane backup`. Every file is synthetic and test-only:
// the keyring's passphrase is testdata/v1/passphrase.txt, the backup's age identity
// testdata/v1/age-identity.txt, the journal's signing key is in the data directory.
//
// testdata/v1/golden.json lists CLI commands and what v1 answered them on this fixture (exit code,
// stdout, stderr, and a file a command wrote): the people of each employer, one person found by
// immatriculation and one by CIN (blind indexes), an erased person refused, every declaration with
// its lines, one exported back as its DS_ file, the journal verified against its checkpoints and
// the inclusion proofs of its first and last entries, the backup verified, restored into an empty
// directory and read again. TestFixtureV1 replays them on a copy of the fixture through run(…) and
// compares: a later version that cannot open a v1 keyring, store, journal or backup, or reads them
// differently, fails here. It uses the CLI only, whose surface is stable, never internal packages.
//
// Regenerate only when the fixture itself must change (never to make a read pass):
//
//	go test ./cmd/amane -run TestFixtureV1 -update-fixture
//
// which builds a new registry from synth in a temporary directory, replaces testdata/v1/ and writes
// the golden file from the new fixture's answers.
var updateFixture = flag.Bool("update-fixture", false, "rebuild testdata/v1 (the v1 registry fixture) and its golden answers")

const fixtureDir = "testdata/v1"

// fixtureStep is one command and v1's answer to it. Args use $DATA (the copy of the fixture's data
// directory), $RESTORED (an empty directory restored from the backup), $V1 (testdata/v1) and $OUT (a
// scratch directory); outputs use the same names for those paths.
type fixtureStep struct {
	Args   []string `json:"args"`
	Code   int      `json:"code"`
	Stdout string   `json:"stdout"`
	Stderr string   `json:"stderr,omitempty"`
	// File is a file the command wrote (its --out), and FileText what it held.
	File     string `json:"file,omitempty"`
	FileText string `json:"file_text,omitempty"`
}

// fixtureEnv is where a replay runs.
type fixtureEnv struct{ data, restored, v1, out string }

func (e fixtureEnv) expand(s string) string {
	return strings.NewReplacer("$DATA", e.data, "$RESTORED", e.restored, "$V1", e.v1, "$OUT", e.out).Replace(s)
}

// durationRE matches the timings some commands print ("in 8ms"): they are not the format's.
var durationRE = regexp.MustCompile(`\bin [0-9.]+(ns|µs|ms|s|m[0-9.]+s)\b`)

func (e fixtureEnv) normalize(s string) string {
	s = strings.NewReplacer(e.data, "$DATA", e.restored, "$RESTORED", e.v1, "$V1", e.out, "$OUT").Replace(s)
	return durationRE.ReplaceAllString(s, "in $$DURATION")
}

// fixtureCopy copies the fixture's data directory to a temporary directory (a read appends journal
// entries: the checked-in files stay as v1 wrote them) and prepares the restore target with the
// source's keys, as an operator would.
func fixtureCopy(t *testing.T) fixtureEnv {
	t.Helper()
	v1, err := filepath.Abs(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	e := fixtureEnv{data: filepath.Join(root, "data"), restored: filepath.Join(root, "restored"), v1: v1, out: filepath.Join(root, "out")}
	copyDir(t, filepath.Join(v1, "data"), e.data)
	for _, d := range []string{e.restored, e.out} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"keyring.json", "journal-signer.key", "journal-verifier.txt"} {
		copyFile(t, filepath.Join(e.data, f), filepath.Join(e.restored, f))
	}
	t.Setenv("AMANE_PASSPHRASE_FILE", filepath.Join(v1, "passphrase.txt"))
	t.Setenv("AMANE_PASSPHRASE", "")
	t.Setenv("AMANE_DATABASE_URL", "")
	t.Setenv("AMANE_BACKUP_IDENTITY_FILE", "")
	return e
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if !en.IsDir() {
			copyFile(t, filepath.Join(from, en.Name()), filepath.Join(to, en.Name()))
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// replay runs a step's command in e and returns what it answered, normalized.
func (e fixtureEnv) replay(t *testing.T, s fixtureStep) fixtureStep {
	t.Helper()
	args := make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = e.expand(a)
	}
	code, stdout, stderr := amaneCLI(t, args...)
	got := fixtureStep{Args: s.Args, Code: code, Stdout: e.normalize(stdout), Stderr: e.normalize(stderr), File: s.File}
	if s.File != "" {
		b, err := os.ReadFile(e.expand(s.File))
		if err != nil {
			t.Fatalf("amane %s wrote no %s: %v", strings.Join(s.Args, " "), s.File, err)
		}
		got.FileText = e.normalize(string(b))
	}
	return got
}

func readGolden(t *testing.T) []fixtureStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []fixtureStep
	if err := json.Unmarshal(b, &steps); err != nil {
		t.Fatal(err)
	}
	return steps
}

// TestFixtureV1 opens a copy of the v1 fixture through the CLI and reads the same people,
// declarations, journal and backup as v1 did.
func TestFixtureV1(t *testing.T) {
	if *updateFixture {
		buildFixtureV1(t)
	}
	steps := readGolden(t)
	if len(steps) < 10 {
		t.Fatalf("golden.json holds %d steps", len(steps))
	}
	e := fixtureCopy(t)
	for i, want := range steps {
		got := e.replay(t, want)
		name := strings.Join(want.Args, " ")
		if got.Code != want.Code {
			t.Errorf("step %d, amane %s: exit %d, v1 answered %d\n%s%s", i, name, got.Code, want.Code, got.Stdout, got.Stderr)
			continue
		}
		if got.Stdout != want.Stdout {
			t.Errorf("step %d, amane %s: stdout differs from v1's\n--- got\n%s\n--- v1\n%s", i, name, got.Stdout, want.Stdout)
		}
		if got.Stderr != want.Stderr {
			t.Errorf("step %d, amane %s: stderr differs from v1's\n--- got\n%s\n--- v1\n%s", i, name, got.Stderr, want.Stderr)
		}
		if got.FileText != want.FileText {
			t.Errorf("step %d, amane %s: %s differs from v1's (%d vs %d bytes)", i, name, want.File, len(got.FileText), len(want.FileText))
		}
	}
	// What the golden file must cover, so that a regenerated one cannot quietly drop a part.
	joined := ""
	for _, s := range steps {
		joined += strings.Join(s.Args, " ") + "\n"
	}
	for _, must := range []string{"journal verify --data $DATA", "journal prove --data $DATA --index 0", "employer show --data $DATA", "employee show --data $DATA --imm",
		"employee show --data $DATA --cin", "declaration show --data $DATA", "declaration export --data $DATA", "backup verify",
		"restore --data $RESTORED", "journal verify --data $RESTORED", "employer show --data $RESTORED", "declaration show --data $RESTORED"} {
		if !strings.Contains(joined, must) {
			t.Errorf("golden.json has no step %q", must)
		}
	}
	// The reads appended to the copy's journal: it still verifies.
	if out := mustRun(t, "journal", "verify", "--data", e.data); !strings.Contains(out, "journal: intact") {
		t.Errorf("journal verify after the reads: %s", out)
	}
}

// fixtureShape is what the generated fixture holds: small (well under 1 MB in all), every kind of
// v1 record, a journal of a few hundred entries.
const (
	fixtureEmployers  = "3"
	fixtureEmployees  = "20"
	fixtureSeed       = "13"
	fixtureLastPeriod = "202609"
)

var fixturePeriods = []string{"202608", "202609"}

// buildFixtureV1 makes a new v1 registry in a temporary directory with the CLI, replaces
// testdata/v1/ with it, then writes golden.json from its answers.
func buildFixtureV1(t *testing.T) {
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	v1, err := filepath.Abs(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	// A synthetic passphrase, test-only (the file says so); kept if it exists.
	pass := filepath.Join(v1, "passphrase.txt")
	if _, err := os.Stat(pass); err != nil {
		os.MkdirAll(v1, 0o755)
		if err := os.WriteFile(pass, []byte("amane v1 fixture, test only: not a secret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AMANE_PASSPHRASE_FILE", pass)
	t.Setenv("AMANE_PASSPHRASE", "")
	t.Setenv("AMANE_DATABASE_URL", "")
	t.Setenv("AMANE_BACKUP_IDENTITY_FILE", "")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", fixtureEmployers, "--employees", fixtureEmployees, "--seed", fixtureSeed, "--out", csvDir,
		"--months", fmt.Sprint(len(fixturePeriods)), "--last-period", fixtureLastPeriod)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	for _, p := range fixturePeriods {
		mustRun(t, "declare", "--data", data, filepath.Join(csvDir, "declarations", "DS_BULK_"+p+".txt"))
	}
	people := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))[1:]
	affs := affiliations(t, filepath.Join(csvDir, "ADHERENTS.csv"))
	// Reads, so that the journal holds a few hundred entries of several actions.
	for range 3 {
		for _, p := range people {
			mustRun(t, "employee", "show", "--data", data, "--imm", p[0])
		}
		for _, a := range affs {
			mustRun(t, "employer", "show", "--data", data, "--affiliation", a)
			for _, p := range fixturePeriods {
				mustRun(t, "declaration", "show", "--data", data, "--affiliation", a, "--period", p)
			}
		}
	}
	mustRun(t, "attest", "--data", data, "--affiliation", affs[0], "--out", filepath.Join(root, "attestation.pdf"))
	erased := people[len(people)-1][0]
	mustRun(t, "erase", "--data", data, "--imm", erased, "--reason", "fixture: retention limit")

	identity := filepath.Join(root, "age-identity.txt")
	out := mustRun(t, "backup", "keygen", "--out", identity)
	m := recipientRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen printed no recipient:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(data, "backup-recipients.txt"), []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backupFile := filepath.Join(root, "backup.age")
	mustRun(t, "backup", "--data", data, "--out", backupFile)
	for _, f := range []string{"amane.db-wal", "amane.journal.db-wal"} {
		if st, err := os.Stat(filepath.Join(data, f)); err == nil && st.Size() > 0 {
			t.Fatalf("%s is left after the commands: the fixture must be checkpointed", f)
		}
	}

	// Replace testdata/v1 (the passphrase stays).
	for _, f := range []string{"data", "backup.age", "age-identity.txt", "golden.json"} {
		os.RemoveAll(filepath.Join(v1, f))
	}
	copyDir(t, data, filepath.Join(v1, "data"))
	copyFile(t, backupFile, filepath.Join(v1, "backup.age"))
	copyFile(t, identity, filepath.Join(v1, "age-identity.txt"))

	// The golden answers, from a copy of the new fixture.
	e := fixtureCopy(t)
	cinOf := func(p []string) string { return p[1] }
	var steps []fixtureStep
	add := func(file string, args ...string) {
		steps = append(steps, e.replay(t, fixtureStep{Args: args, File: file}))
	}
	add("", "journal", "verify", "--data", "$DATA")
	// Inclusion proofs of the first and the last entry, before any read appends one.
	m = regexp.MustCompile(`journal: ([0-9]+) entries`).FindStringSubmatch(steps[0].Stdout)
	if m == nil {
		t.Fatalf("journal verify: %s", steps[0].Stdout)
	}
	add("", "journal", "prove", "--data", "$DATA", "--index", "0")
	add("", "journal", "prove", "--data", "$DATA", "--index", fmt.Sprint(atoi(t, m[1])-1))
	for _, a := range affs {
		add("", "employer", "show", "--data", "$DATA", "--affiliation", a)
	}
	add("", "employee", "show", "--data", "$DATA", "--imm", people[0][0])
	add("", "employee", "show", "--data", "$DATA", "--cin", cinOf(people[len(people)/2]))
	add("", "employee", "show", "--data", "$DATA", "--imm", erased)
	for _, a := range affs {
		for _, p := range fixturePeriods {
			add("", "declaration", "show", "--data", "$DATA", "--affiliation", a, "--period", p)
		}
	}
	add("$OUT/DS.txt", "declaration", "export", "--data", "$DATA", "--affiliation", affs[0], "--period", fixturePeriods[1], "--out", "$OUT/DS.txt")
	add("", "backup", "verify", "--identity", "$V1/age-identity.txt", "$V1/backup.age")
	add("", "restore", "--data", "$RESTORED", "--from", "$V1/backup.age", "--identity", "$V1/age-identity.txt")
	add("", "journal", "verify", "--data", "$RESTORED")
	add("", "employer", "show", "--data", "$RESTORED", "--affiliation", affs[1])
	add("", "employee", "show", "--data", "$RESTORED", "--imm", erased)
	add("", "declaration", "show", "--data", "$RESTORED", "--affiliation", affs[2], "--period", fixturePeriods[0])
	for i, s := range steps {
		if s.Code != 0 && !strings.Contains(strings.Join(s.Args, " "), erased) {
			t.Fatalf("step %d, amane %s: exit %d\n%s", i, strings.Join(s.Args, " "), s.Code, s.Stderr)
		}
	}
	b, err := json.MarshalIndent(steps, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v1, "golden.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// affiliations returns the affiliation numbers of an ADHERENTS.csv, in file order.
func affiliations(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	var out []string
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			out = append(out, rec[0])
		}
	}
}
