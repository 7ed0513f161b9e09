package backup

import (
	"amane/attest"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/csvfile"
	"amane/gate"
	"amane/journal"
	"amane/load"
	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/sqlite"
	"amane/synth"

	"filippo.io/age"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var sys = amanetest.Context(amane.RoleSystem)

// registry loads a synthetic registry of employers and the first keep of employees into r, and
// returns the SALARIES.csv rows (header first) and the insured people not loaded.
func registry(t *testing.T, r *amanetest.Registry, employers, employees, keep int) ([]string, []*amane.Employee) {
	t.Helper()
	var a, s bytes.Buffer
	if err := synth.Write(context.Background(), synth.Config{Employers: employers, Employees: employees, Seed: 11}, &a, &s, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
	loaded := strings.Join(lines[:keep+1], "\n") + "\n"
	if _, err := load.Load(sys, r.Store, r.Gate, &load.Source{Name: "ADHERENTS.csv", R: &a},
		&load.Source{Name: "SALARIES.csv", R: strings.NewReader(loaded)}, load.Options{}); err != nil {
		t.Fatal(err)
	}
	rest := lines[0] + "\n" + strings.Join(lines[keep+1:], "\n") + "\n"
	er, ferr := csvfile.NewEmployeeReader("SALARIES.csv", strings.NewReader(rest))
	if ferr != nil {
		t.Fatal(ferr)
	}
	var more []*amane.Employee
	for {
		_, e, errs, err := er.Next()
		if err == io.EOF {
			break
		}
		if err != nil || len(errs) > 0 {
			t.Fatal(err, errs)
		}
		more = append(more, e)
	}
	return lines, more
}

// imm returns the immatriculation of SALARIES.csv row n (1-based, after the header).
func imm(lines []string, n int) string { return strings.SplitN(lines[n], ",", 2)[0] }

// fresh opens an empty store of the other kind than r's.
func fresh(t *testing.T, r *amanetest.Registry) amanetest.Store {
	t.Helper()
	ctx := context.Background()
	var st amanetest.Store
	var err error
	if r.Kind == "sqlite" {
		st, err = postgres.Open(ctx, pgtest.URL(t))
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "amane.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// dump returns a store's rows as backup lines, name-word indexes sorted (their order is the
// store's).
func dump(t *testing.T, st amanetest.Store) []string {
	t.Helper()
	var out []string
	err := st.Dump(context.Background(), func(it *amane.DumpItem) error {
		r, _, err := toRow(it)
		if err != nil {
			return err
		}
		if r.Employee != nil {
			slices.SortFunc(r.Employee.NameIndex, bytes.Compare)
		}
		b, err := json.Marshal(r)
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// empty fails unless st holds no data key and no row other than agencies and operator tokens.
func empty(t *testing.T, st amanetest.Store) {
	t.Helper()
	kv, err := st.KeyVersions(context.Background())
	if err != nil || len(kv) > 0 {
		t.Fatalf("target holds data keys %v (%v)", kv, err)
	}
	for _, l := range dump(t, st) {
		if !strings.HasPrefix(l, `{"agency"`) && !strings.HasPrefix(l, `{"operator_token"`) {
			t.Fatalf("target not empty: a row of kind %.20s", l)
		}
	}
}

func write(t *testing.T, st amanetest.Store, id *age.X25519Identity) ([]byte, *Summary) {
	t.Helper()
	var b bytes.Buffer
	sum, err := Write(context.Background(), st, &b, []age.Recipient{id.Recipient()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), sum
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func ids(id *age.X25519Identity) []age.Identity { return []age.Identity{id} }

// plaintext decrypts a backup.
func plaintext(t *testing.T, file []byte, id *age.X25519Identity) []string {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(file), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")[:strings.Count(string(b), "\n")]
}

// seal encrypts lines as a backup file, as they are.
func seal(t *testing.T, lines []string, id *age.X25519Identity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, strings.Join(lines, ""))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// retrail replaces the trailer of lines by one that matches the lines before it.
func retrail(t *testing.T, lines []string) []string {
	t.Helper()
	body := lines[:len(lines)-1]
	rows := newRows()
	for _, l := range body[1:] {
		var r row
		if err := decode([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		k, _ := r.kind()
		rows[k]++
	}
	h := sha256.Sum256([]byte(strings.Join(body, "")))
	tr, _ := json.Marshal(trailer{End: true, Rows: rows, SHA256: hex.EncodeToString(h[:])})
	return append(slices.Clone(body), string(tr)+"\n")
}

func TestBackupRestore(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		ctx := context.Background()
		lines, more := registry(t, r, 12, 160, 150)
		erasedID, err := r.Gate.EraseEmployee(sys, imm(lines, 3), "test: retention limit")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Store.AddOperatorToken(ctx, bytes.Repeat([]byte{7}, 32), "ops"); err != nil {
			t.Fatal(err)
		}
		// Reindex under the same index key as version 2: the indexes keep their values, and the
		// store's index version is a setting the backup must carry.
		if _, err := r.Gate.Reindex(sys, r.Vault, 2, nil); err != nil {
			t.Fatal(err)
		}
		acct, err := r.Store.CreateAccount(ctx, &amane.Account{Login: "assure-0001", Role: amane.RoleInsured, EmployeeID: 1, PasswordHash: "$argon2id$x", TOTP: []byte("ct:totp")})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Store.AddPasskey(ctx, amane.Passkey{AccountID: acct, ID: []byte("cred-1"), Credential: []byte(`{"signCount":1}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Store.AddToken(ctx, &amane.Token{Hash: bytes.Repeat([]byte{8}, 32), Role: amane.RoleIntegration, Expires: "2030-01-01T00:00:00Z"}); err != nil {
			t.Fatal(err)
		}
		// A case (issue 14): the backup carries it, and the restore keeps it.
		if _, err := r.Store.CreateCase(ctx, &amane.Case{Type: amane.CaseRequest, Number: "PRE-2026/0001", Records: []string{"employee/2", "employer/1"},
			Staff: []string{"account/1"}, Team: "CASA-ANFA", Opened: "2026-11-23T09:00:00Z", OpenedBy: "account/1", Origin: "guichet"}); err != nil {
			t.Fatal(err)
		}
		// A declaration (history keys, sealed lines) and an attestation of the first employer.
		row, err := csv.NewReader(strings.NewReader(lines[5])).Read()
		if err != nil {
			t.Fatal(err)
		}
		pre, err := r.Gate.Preetabli(sys, row[7], "202410")
		if err != nil {
			t.Fatal(err)
		}
		for i := range pre.Lines {
			pre.Lines[i].Days, pre.Lines[i].Salary, pre.Lines[i].Capped = 26, 500000, 500000
		}
		pre.New = []amane.NewEmployeeLine{{Imm: "000000000", Surname: "NOUVEAU", FirstName: "SALARIE", CIN: "K1234", Days: 3, Salary: 30000, Capped: 30000}}
		pre.Header.BlankB04 = false
		if res, err := r.Gate.SubmitDeclaration(sys, pre); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("declaration: %+v, %v", res, err)
		}
		if _, errs, err := r.Gate.Attestations(sys, []gate.AttestationRequest{{Kind: attest.KindThirdParty, Affiliation: pre.Affiliation}}); err != nil || errs[0] != nil {
			t.Fatalf("attestation: %v %v", err, errs)
		}
		// A checkpoint of the journal as it is now: the background one would otherwise land after
		// the backup, and the stores' dumps below would differ by it.
		if _, err := r.Journal.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		id := newIdentity(t)
		file, wrote := write(t, r.Store, id)
		if wrote.Source != r.Kind || wrote.Rows[KindEmployee] != 150 || wrote.Rows[KindErasure] != 1 || wrote.Rows[KindEmployer] != 12 || wrote.Rows[KindSetting] != 1 ||
			wrote.Rows[KindAccount] != 1 || wrote.Rows[KindPasskey] != 1 || wrote.Rows[KindToken] != 1 || wrote.Rows[KindJournal] == 0 ||
			wrote.Rows[KindDeclaration] != 1 || wrote.Rows[KindAttestation] != 1 || wrote.Rows[KindImmRequest] != 1 || wrote.Rows[KindDataKey] == 0 || wrote.Rows[KindCase] != 1 ||
			wrote.KeyVersions[1] != 12+149+wrote.Rows[KindDataKey] {
			t.Fatalf("summary %+v", wrote)
		}
		sum, err := Verify(bytes.NewReader(file), ids(id))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sum, wrote) {
			t.Fatalf("Verify %+v, Write %+v", sum, wrote)
		}

		t.Run("IntoOtherStore", func(t *testing.T) {
			target := fresh(t, r)
			var progressed int
			sum, err := Restore(ctx, target, bytes.NewReader(file), ids(id), func(n int) { progressed = n })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sum, wrote) || int64(progressed) != wrote.Total() {
				t.Fatalf("Restore %+v (progress %d), Write %+v", sum, progressed, wrote)
			}
			if v, err := target.IndexVersion(ctx); err != nil || v != 2 {
				t.Fatalf("restored index version %d (%v), want 2", v, err)
			}
			a, b := dump(t, r.Store), dump(t, target)
			if len(a) != len(b) || int64(len(a)) != wrote.Total() {
				t.Fatalf("%d rows, restored %d, backup %d", len(a), len(b), wrote.Total())
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("row %d differs after restore:\n%s\n%s", i, a[i], b[i])
				}
			}
			// The restored journal opens under the source's journal keys: its stored tree matches its
			// last signed checkpoint, and it verifies from the first entry.
			signer, verifier, err := journal.LoadKeys(r.Dir)
			if err != nil {
				t.Fatal(err)
			}
			js := target
			j, err := journal.Open(ctx, js, signer, verifier, filepath.Join(t.TempDir(), journal.WitnessFile))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { j.Close() })
			if rep, err := journal.Verify(ctx, js, verifier); err != nil || !rep.OK() || rep.Size == 0 {
				t.Fatalf("restored journal: %+v, %v", rep, err)
			}
			if a, err := target.AccountByLogin(ctx, "assure-0001"); err != nil || a.ID != acct || string(a.TOTP) != "ct:totp" {
				t.Fatalf("restored account: %+v, %v", a, err)
			}
			g := gate.New(target, r.Vault).UseJournal(j, js)
			for _, n := range []int{1, 2, 150} {
				want, err := r.Gate.Employee(sys, imm(lines, n))
				if err != nil {
					t.Fatal(err)
				}
				got, err := g.Employee(sys, imm(lines, n))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) || got.Surname == "" {
					t.Fatalf("person %d read back differs", n)
				}
			}
			aff := strings.Split(lines[1], ",")[7]
			we, _ := r.Gate.Employer(sys, aff)
			ge, err := g.Employer(sys, aff)
			if err != nil || !reflect.DeepEqual(ge, we) {
				t.Fatalf("employer read back differs (%v)", err)
			}
			if _, err := g.Employee(sys, imm(lines, 3)); amane.ErrorCode(err) != amane.ENOTFOUND {
				t.Fatalf("erased person: %v", err)
			}
			er, _ := target.Erasures(ctx)
			if len(er) != 1 || er[0].EmployeeID != erasedID {
				t.Fatalf("erasures %+v", er)
			}
			if ok, _ := target.OperatorToken(ctx, bytes.Repeat([]byte{7}, 32)); !ok {
				t.Fatal("operator token not restored")
			}
			// The restored store goes on: new ids follow the restored ones.
			if err := g.CreateEmployee(sys, more[0]); err != nil {
				t.Fatal(err)
			}
			if e, err := g.Employee(sys, more[0].Immatriculation); err != nil || e.ID != 151 {
				t.Fatalf("new person after restore: %+v, %v", e, err)
			}
		})

		t.Run("ErrNotEmpty", func(t *testing.T) {
			if _, err := Restore(ctx, r.Store, bytes.NewReader(file), ids(id), nil); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("restore into the source: %v", err)
			}
			// The check inside the load transaction, for a store whose keys are all gone.
			rd, err := open(bytes.NewReader(file), ids(id))
			if err != nil {
				t.Fatal(err)
			}
			l, err := r.Store.BeginRestore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Rollback()
			if _, err := restoreRows(ctx, rd, l, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("restoreRows into the source: %v", err)
			}
		})

		// refused checks that a file fails Verify with want in the error, and Restore too, leaving
		// the target empty.
		refused := func(t *testing.T, file []byte, identity *age.X25519Identity, want string) {
			t.Helper()
			_, err := Verify(bytes.NewReader(file), ids(identity))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Verify: %v, want an error with %q", err, want)
			}
			target := fresh(t, r)
			if _, err := Restore(ctx, target, bytes.NewReader(file), ids(identity), nil); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Restore: %v, want an error with %q", err, want)
			}
			empty(t, target)
		}
		t.Run("ErrTampered", func(t *testing.T) {
			if len(file) < 80<<10 { // the last flip must land after a 64 KiB chunk of rows went into the load
				t.Fatalf("backup of %d bytes: one age chunk only", len(file))
			}
			for _, at := range []int{40, 200, len(file) / 2, len(file) - 1} {
				bad := slices.Clone(file)
				bad[at] ^= 0x01
				refused(t, bad, id, "decrypt")
			}
		})
		t.Run("ErrTruncated", func(t *testing.T) {
			for _, n := range []int{len(file) / 2, len(file) - 1, len(file) - 17} {
				refused(t, file[:n], id, "decrypt")
			}
		})
		t.Run("ErrWrongIdentity", func(t *testing.T) {
			refused(t, file, newIdentity(t), "did not match any of the recipients")
		})

		pt := plaintext(t, file, id)
		t.Run("ErrNoTrailer", func(t *testing.T) {
			refused(t, seal(t, pt[:len(pt)-1], id), id, "ends without its trailer")
			refused(t, seal(t, pt[:len(pt)/2], id), id, "ends without its trailer")
			cut := slices.Clone(pt[:len(pt)/2])
			cut[len(cut)-1] = strings.TrimSuffix(cut[len(cut)-1], "\n")
			refused(t, seal(t, cut, id), id, "in the middle of a line")
		})
		t.Run("ErrTrailer", func(t *testing.T) {
			dropped := append(slices.Clone(pt[:5]), pt[6:]...)
			refused(t, seal(t, dropped, id), id, fmt.Sprintf("line %d: the SHA-256", len(dropped)))
			after := append(slices.Clone(pt), "{}\n")
			refused(t, seal(t, after, id), id, "data after the trailer")
		})
		t.Run("ErrReference", func(t *testing.T) {
			// An employee removed, the trailer made to match: the checks of the rows catch it.
			var employee, employment int
			for i, l := range pt {
				if employee == 0 && strings.HasPrefix(l, `{"employee":`) && !strings.Contains(l, `"Blob":null`) {
					employee = i
				}
				if employee > 0 && employment == 0 && strings.HasPrefix(l, `{"employment":`) {
					employment = i
				}
			}
			lines := retrail(t, append(slices.Clone(pt[:employee]), pt[employee+1:]...))
			refused(t, seal(t, lines, id), id, fmt.Sprintf("line %d: employment of employee 1, who is not in the backup", employment))
			if _, err := Verify(bytes.NewReader(seal(t, retrail(t, pt), id)), ids(id)); err != nil {
				t.Fatalf("retrail broke a good backup: %v", err)
			}
			// An erased person with a data key.
			var erasedLine int
			for i, l := range pt {
				if strings.HasPrefix(l, fmt.Sprintf(`{"employee":{"ID":%d,`, erasedID)) {
					erasedLine = i
				}
			}
			keyed := slices.Clone(pt)
			keyed[erasedLine] = strings.Replace(keyed[erasedLine], `"Blob":null`, `"Blob":"AAAA"`, 1)
			refused(t, seal(t, retrail(t, keyed), id), id, fmt.Sprintf("employee %d is erased but still has a data key", erasedID))
		})
		t.Run("ErrJournalOrder", func(t *testing.T) {
			first := slices.IndexFunc(pt, func(l string) bool { return strings.HasPrefix(l, `{"journal":{"kind":"entry"`) })
			if first < 0 {
				t.Fatalf("the backup holds no journal entry: %+v", wrote.Rows)
			}
			repeated := slices.Insert(slices.Clone(pt), first+1, pt[first])
			refused(t, seal(t, retrail(t, repeated), id), id, fmt.Sprintf("line %d: journal entry 0 after entry 0", first+2))
		})
		t.Run("OldTrailer", func(t *testing.T) {
			// A backup from before accounts: no row of the later kinds, and a trailer that does not
			// name them.
			var old []string
			for _, l := range pt[:len(pt)-1] {
				if !strings.HasPrefix(l, `{"account"`) && !strings.HasPrefix(l, `{"passkey"`) && !strings.HasPrefix(l, `{"token"`) && !strings.HasPrefix(l, `{"journal"`) {
					old = append(old, l)
				}
			}
			trailed := retrail(t, append(old, ""))
			var tr trailer
			if err := decode([]byte(trailed[len(trailed)-1]), &tr); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{KindAccount, KindPasskey, KindToken, KindJournal} {
				delete(tr.Rows, k)
			}
			line, _ := json.Marshal(tr)
			trailed[len(trailed)-1] = string(line) + "\n"
			sum, err := Verify(bytes.NewReader(seal(t, trailed, id)), ids(id))
			if err != nil || sum.Rows[KindEmployee] != 150 || sum.Rows[KindJournal] != 0 {
				t.Fatalf("older backup: %+v, %v", sum, err)
			}
			tr.Rows["widget"] = 0
			line, _ = json.Marshal(tr)
			trailed[len(trailed)-1] = string(line) + "\n"
			refused(t, seal(t, trailed, id), id, "a kind of row this version does not know")
		})
		t.Run("ErrCheckKey", func(t *testing.T) {
			target := fresh(t, r)
			_, err := RestoreWith(ctx, target, bytes.NewReader(file), ids(id), RestoreOptions{CheckKey: func(amane.DataKeyRef, amane.WrappedKey) error {
				return errors.New("wrong keyring")
			}})
			if err == nil || !strings.Contains(err.Error(), "do not unwrap the data key of employer/1") {
				t.Fatalf("RestoreWith: %v", err)
			}
			empty(t, target)
		})
	})
}

// TestBackupWhileWriting takes a backup while insured people are being created: the backup is one
// snapshot, in which every person has their key and employments.
func TestBackupWhileWriting(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		const loaded = 300
		_, more := registry(t, r, 20, 500, loaded)
		var created atomic.Int64
		stop := make(chan struct{})
		// The writer creates a few people at once, the rest only once the dump is under way.
		release := make(chan struct{})
		var releaseOnce sync.Once
		let := func() { releaseOnce.Do(func() { close(release) }) }
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, e := range more {
				if i == 10 {
					<-release
				}
				select {
				case <-stop:
					return
				default:
				}
				if err := r.Gate.CreateEmployee(sys, e); err != nil {
					t.Error(err)
					return
				}
				created.Add(1)
			}
		}()
		id := newIdentity(t)
		var b bytes.Buffer
		waited := false
		_, err := Write(context.Background(), r.Store, &b, []age.Recipient{id.Recipient()}, func(int) {
			if waited { // once, mid-dump: let more people be created after the snapshot
				return
			}
			waited = true
			let()
			for deadline := time.Now().Add(20 * time.Second); created.Load() < 15 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			if created.Load() < 15 {
				t.Error("no insured person created while the backup ran")
			}
		})
		close(stop)
		let()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if !waited {
			t.Fatal("progress never called during the dump")
		}
		sum, err := Verify(bytes.NewReader(b.Bytes()), ids(id))
		if err != nil {
			t.Fatal(err)
		}
		// Every person in the file has a key and an employment, ids 1..N with nothing missing.
		people, jobs := map[int64]bool{}, map[int64]int{}
		var maxID int64
		for _, l := range plaintext(t, b.Bytes(), id)[1:] {
			var rw row
			if decode([]byte(l), &rw) != nil {
				continue // the trailer
			}
			switch {
			case rw.Employee != nil:
				if len(rw.Employee.Key.Blob) == 0 {
					t.Fatalf("employee %d has no key", rw.Employee.ID)
				}
				people[rw.Employee.ID] = true
				maxID = max(maxID, rw.Employee.ID)
			case rw.Employment != nil:
				jobs[rw.Employment.EmployeeID]++
			}
		}
		if int64(len(people)) != sum.Rows[KindEmployee] || maxID != int64(len(people)) {
			t.Fatalf("%d people in the file, ids up to %d, trailer %d", len(people), maxID, sum.Rows[KindEmployee])
		}
		for p := range people {
			if jobs[p] == 0 {
				t.Fatalf("employee %d has no employment in the backup", p)
			}
		}
		total := int64(loaded) + created.Load()
		if maxID < loaded || maxID > total-5 {
			t.Fatalf("the backup holds %d people: %d were loaded, %d in the store after, 5 created after the snapshot", maxID, loaded, total)
		}
		// The employments in the file are those of the same people in the store now.
		now := 0
		r.Store.Dump(context.Background(), func(it *amane.DumpItem) error {
			if it.Employment != nil && it.Employment.EmployeeID <= maxID {
				now++
			}
			return nil
		})
		if int64(now) != sum.Rows[KindEmployment] {
			t.Fatalf("the backup has %d employments of its people, the store %d", sum.Rows[KindEmployment], now)
		}
		t.Logf("%s: backup of %d people while %d were created", r.Kind, maxID, created.Load())
	})
}
