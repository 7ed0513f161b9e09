package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"amane/backup"
	"amane/sqlite"
)

// Known-answer vector for the backup format (testdata/backup-v1.txt, the plaintext of
// testdata/backup-v1.age, encrypted to the test-only identity testdata/age-identity-v1.txt): a header,
// one row of each of agency, employer, employee, employment and setting as a v1 store dumps them, and
// the trailer. age encryption is random, so the plaintext is what is pinned: the age file must decrypt
// to it, the reader must accept it with the counts and hash below, and a restore of it must dump the
// same rows again. The framing is recomputed by hand:
//
//	header:  {"format":"amane-backup/v1","created":RFC 3339 UTC,"source":"sqlite"|"postgres"}
//	rows:    one JSON object per line with exactly one key, the row kind
//	trailer: {"end":true,"rows":{kind: count, … every kind, keys sorted},"sha256":hex SHA-256 of every byte before it}
//
// and the writer's output on a fresh store is checked against the same framing. Every backup taken
// by v1 has this layout: renaming a kind, the format or a trailer key fails here.
func TestBackupVectorV1(t *testing.T) {
	want, err := os.ReadFile("testdata/backup-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	id := vectorIdentity(t)
	file, err := os.ReadFile("testdata/backup-v1.age")
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(file), id)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(r); err != nil || !bytes.Equal(plain, want) {
		t.Fatalf("backup-v1.age decrypts to %d bytes (%v), not backup-v1.txt", len(plain), err)
	}

	// The documented framing, recomputed from the plaintext.
	lines := strings.SplitAfter(string(want), "\n")
	lines = lines[:len(lines)-1]
	body := strings.Join(lines[:len(lines)-1], "")
	sum := sha256.Sum256([]byte(body))
	counts := map[string]int64{}
	for _, l := range lines[1 : len(lines)-1] {
		var row map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &row); err != nil || len(row) != 1 {
			t.Fatalf("row %.30q: %d keys, %v", l, len(row), err)
		}
		for k := range row {
			counts[k]++
		}
	}
	if got, want := lines[len(lines)-1], trailerOf(counts, hex.EncodeToString(sum[:])); got != want {
		t.Errorf("the v1 trailer is\n%s\nthe documented framing gives\n%s", got, want)
	}
	if !strings.HasPrefix(lines[0], `{"format":"amane-backup/v1","created":"`) || !strings.HasSuffix(lines[0], `","source":"sqlite"}`+"\n") {
		t.Errorf("the v1 header is %s", lines[0])
	}

	s, err := backup.Verify(bytes.NewReader(file), []age.Identity{id})
	if err != nil {
		t.Fatalf("the v1 backup does not verify: %v", err)
	}
	created, _ := time.Parse(time.RFC3339, "2026-12-07T12:00:00Z")
	if backup.Format != "amane-backup/v1" || s.Format != backup.Format || !s.Created.Equal(created) || s.Source != "sqlite" ||
		s.SHA256 != hex.EncodeToString(sum[:]) || s.Total() != 5 || s.KeyVersions[1] != 2 {
		t.Errorf("the v1 backup reads as %+v", s)
	}
	for k, n := range counts {
		if s.Rows[k] != n {
			t.Errorf("%s: %d rows read, the v1 backup holds %d", k, s.Rows[k], n)
		}
	}

	// Restored into a fresh store, the rows dump back as they are in the file.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := backup.Restore(ctx, st, bytes.NewReader(file), []age.Identity{id}, nil); err != nil {
		t.Fatalf("the v1 backup does not restore: %v", err)
	}
	again := writeBackup(t, st, id)
	if got := again[1 : len(again)-1]; !slices.Equal(got, lines[1:len(lines)-1]) {
		t.Errorf("the restored store dumps\n%s\nthe v1 backup holds\n%s", strings.Join(got, ""), strings.Join(lines[1:len(lines)-1], ""))
	}

	// The writer frames its output the same way.
	sum2 := sha256.Sum256([]byte(strings.Join(again[:len(again)-1], "")))
	if got, want := again[len(again)-1], trailerOf(counts, hex.EncodeToString(sum2[:])); got != want {
		t.Errorf("the writer's trailer is\n%s\nthe documented framing gives\n%s", got, want)
	}
	var h struct{ Format, Created, Source string }
	if err := json.Unmarshal([]byte(again[0]), &h); err != nil || h.Format != "amane-backup/v1" || h.Source != "sqlite" ||
		again[0] != fmt.Sprintf(`{"format":"amane-backup/v1","created":%q,"source":"sqlite"}`+"\n", h.Created) {
		t.Errorf("the writer's header is %s", again[0])
	}
	if _, err := time.Parse(time.RFC3339, h.Created); err != nil || !strings.HasSuffix(h.Created, "Z") {
		t.Errorf("the writer's header time %q is not RFC 3339 UTC", h.Created)
	}
}

// trailerOf is the trailer line of a backup holding counts rows, by the documented framing: every
// kind of v1 with its count (zero included), keys sorted as encoding/json sorts a map.
func trailerOf(counts map[string]int64, sha string) string {
	kinds := []string{"account", "agency", "attestation", "data_key", "declaration", "employee", "employer", "employment",
		"erasure", "imm_request", "journal", "operator_token", "passkey", "security_alert", "setting", "token"}
	var b strings.Builder
	b.WriteString(`{"end":true,"rows":{`)
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", k, counts[k])
	}
	fmt.Fprintf(&b, `},"sha256":%q}`+"\n", sha)
	return b.String()
}

func vectorIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	b, err := os.ReadFile("testdata/age-identity-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			id, err := age.ParseX25519Identity(l)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
	}
	t.Fatal("testdata/age-identity-v1.txt holds no identity")
	return nil
}

// writeBackup backs st up and returns the plaintext lines, each with its "\n".
func writeBackup(t *testing.T, st *sqlite.Store, id *age.X25519Identity) []string {
	t.Helper()
	var b bytes.Buffer
	if _, err := backup.Write(context.Background(), st, &b, []age.Recipient{id.Recipient()}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(&b, id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(plain), "\n")
	return lines[:len(lines)-1]
}
