package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"amane/amanetest"
	"amane/postgres/pgtest"
	"amane/sqlite"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	removeBinary()
	os.Exit(code)
}

// Sizes of the durability test: a base registry, then one round per power cut, each with a load of
// a fresh chunk of insured people and a storm of API creations. Six cuts per store keep the package
// under its time budget (`go test ./...` in under 3 minutes on 2 cores); AMANE_DURABILITY_ROUNDS=N
// runs N (20 was the earlier default: about 45 s per store).
const (
	durDefaultRounds = 6
	durEmployers     = 20
	durBase          = 200 // insured people of the first load
	durChunk         = 100 // insured people of each round's load
	durStormWorkers  = 4
	durPassphrase    = "a durability passphrase, long enough"
)

// durRounds is the number of power cuts per store: durDefaultRounds, or AMANE_DURABILITY_ROUNDS.
var durRounds = durDefaultRounds

// TestDurabilityUnderSIGKILL cuts the power 6 times on each store: a real `amane serve` process takes
// a storm of POST /api/v1/employees while a real `amane load` process imports a chunk of SALARIES.csv,
// and both are SIGKILLed after a random delay (every third time, just after the load exits). After
// each cut a fresh server must return every write
// acknowledged so far (every 201, every load that exited 0), each killed load must be all or nothing,
// `amane employer show` must decrypt, and the store must be consistent (SQLite integrity_check, no
// employee without a data key).
//
// SIGKILL is a process crash, not a machine crash: what a process handed to the kernel survives it, so
// this test does not exercise fsync (SQLite runs synchronous=NORMAL in WAL mode: every commit survives
// a process crash, the last ones may not survive an OS crash). The random choices come from one seed,
// logged; AMANE_DURABILITY_SEED=N replays them (the timing cannot be replayed).
func TestDurabilityUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test: about 15 s per store; skipped with -short")
	}
	if s := os.Getenv("AMANE_DURABILITY_ROUNDS"); s != "" { // before t.Parallel: the other SIGKILL test reads it
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AMANE_DURABILITY_ROUNDS: want a positive number, got %q", s)
		}
		durRounds = n
	}
	t.Parallel() // real processes and their own stores: it overlaps the other SIGKILL test
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AMANE_DURABILITY_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("AMANE_DURABILITY_SEED: %v", err)
		}
	}
	t.Logf("seed %d (AMANE_DURABILITY_SEED=%d replays the random choices)", seed, seed)

	// The server and the loader must be real processes so that SIGKILL is real.
	bin := amaneBinary(t)
	env := []string{"AMANE_PASSPHRASE=" + durPassphrase}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AMANE_") {
			env = append(env, kv)
		}
	}
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); newDurability(t, bin, env, seed, "").run() })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); newDurability(t, bin, env, seed+1, pgtest.URL(t)).run() })
}

// durPerson is an insured person the test wrote, or tried to.
type durPerson struct {
	Imm, CIN, Nom, Prenom, Aff string
	// Unlisted: the employment is not validated (pending or rejected), so the employer's listing does
	// not show the person (a pending employment is nobody's employee yet); reads by number do.
	Unlisted bool
}

type durability struct {
	t        *testing.T
	bin, dir string
	env      []string
	pg       string // PostgreSQL URL; "" for SQLite
	seed     uint64
	rng      *rand.Rand
	token    string

	adherents string   // ADHERENTS.csv, every employer
	affs      []string // their affiliation numbers
	chunks    []durChunkFile

	mu     sync.Mutex
	synth  map[string]bool // immatriculations of the synthetic files: the storm avoids them
	serial int             // last storm person number

	must   map[string]durPerson // everything that must be present from now on
	absent map[string]durPerson // writes seen absent after a cut: they must stay absent

	// What was measured.
	acked, unknownPresent, unknownAbsent, refused, byImm  int
	loadsOK, loadsKilledAll, loadsKilledNone, loadsFailed int
}

type durChunkFile struct {
	path   string
	people []durPerson
}

func newDurability(t *testing.T, bin string, env []string, seed uint64, pg string) *durability {
	return &durability{t: t, bin: bin, env: env, pg: pg, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed)),
		dir: filepath.Join(t.TempDir(), "data"), synth: map[string]bool{}, must: map[string]durPerson{}, absent: map[string]durPerson{}}
}

// durProc is a child process of the test.
type durProc struct {
	cmd       *exec.Cmd
	out, errb *amanetest.SyncBuffer
	done      chan struct{}
}

func (d *durability) start(args ...string) *durProc {
	d.t.Helper()
	p := &durProc{cmd: exec.Command(d.bin, args...), out: &amanetest.SyncBuffer{}, errb: &amanetest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = d.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.errb
	if err := p.cmd.Start(); err != nil {
		d.t.Fatalf("amane %s: %v", args[0], err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	d.t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL (if the process still runs) and waits for it to exit.
func (p *durProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func (p *durProc) signaled() bool {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// exec runs the binary to its end and returns its exit code and output.
func (d *durability) exec(args ...string) (int, string, string) {
	d.t.Helper()
	p := d.start(args...)
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		p.kill()
		d.t.Fatalf("amane %s: still running after 2 minutes", strings.Join(args, " "))
	}
	return p.cmd.ProcessState.ExitCode(), p.out.String(), p.errb.String()
}

func (d *durability) mustExec(args ...string) string {
	d.t.Helper()
	code, out, errOut := d.exec(args...)
	if code != 0 {
		d.t.Fatalf("amane %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// serve starts `amane serve` and returns it with its URL once it listens.
func (d *durability) serve() (*durProc, string) {
	d.t.Helper()
	p := d.start("serve", "--data", d.dir, "--addr", "127.0.0.1:0")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(p.out.String()); m != nil {
			return p, m[1]
		}
		select {
		case <-p.done:
			d.t.Fatalf("serve exited (%v) before listening:\n%s%s", p.cmd.ProcessState, p.out.String(), p.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			d.t.Fatalf("serve did not listen within a minute:\n%s%s", p.out.String(), p.errb.String())
		}
	}
}

// prepare initialises the data directory, writes the synthetic files (one synth, split: the base
// load and one chunk per round, so that no immatriculation or CIN repeats) and loads the base.
func (d *durability) prepare() {
	t := d.t
	args := []string{"init", "--data", d.dir}
	if d.pg != "" {
		args = append(args, "--db", d.pg)
	}
	out := d.mustExec(args...)
	if d.token = tokenRE.FindString(out); d.token == "" {
		t.Fatalf("init printed no token:\n%s", out)
	}
	csvDir := filepath.Join(filepath.Dir(d.dir), "csv")
	mustRun(t, "synth", "--employers", strconv.Itoa(durEmployers), "--employees", strconv.Itoa(durBase+durRounds*durChunk),
		"--seed", strconv.FormatUint(d.seed%1000000, 10), "--out", csvDir)
	d.adherents = filepath.Join(csvDir, "ADHERENTS.csv")
	for _, r := range readCSV(t, d.adherents)[1:] {
		d.affs = append(d.affs, r[0])
	}
	rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
	header, rows := rows[0], rows[1:]
	if len(rows) != durBase+durRounds*durChunk || header[0] != "immatriculation" || header[3] != "nom" || header[4] != "prenom" || header[7] != "affiliation_employeur" || header[8] != "etat_demande" {
		t.Fatalf("unexpected SALARIES.csv: %d rows, header %v", len(rows), header)
	}
	write := func(name string, rows [][]string) durChunkFile {
		c := durChunkFile{path: filepath.Join(csvDir, name)}
		f, err := os.Create(c.path)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		w.Write(header)
		w.WriteAll(rows)
		if err := f.Close(); err != nil || w.Error() != nil {
			t.Fatal(err, w.Error())
		}
		for _, r := range rows {
			c.people = append(c.people, durPerson{Imm: r[0], CIN: r[1], Nom: strings.TrimSpace(r[3]), Prenom: strings.TrimSpace(r[4]), Aff: r[7],
				Unlisted: r[8] != "validee"})
			d.synth[r[0]] = true
		}
		return c
	}
	base := write("base.csv", rows[:durBase])
	for i := 0; i < durRounds; i++ {
		d.chunks = append(d.chunks, write(fmt.Sprintf("chunk%02d.csv", i+1), rows[durBase+i*durChunk:durBase+(i+1)*durChunk]))
	}
	out = d.mustExec("load", "--data", d.dir, d.adherents, base.path)
	if !strings.Contains(out, fmt.Sprintf("%d employers added", durEmployers)) || !strings.Contains(out, fmt.Sprintf("%d insured added", durBase)) {
		t.Fatalf("base load: %s", out)
	}
	for _, p := range base.people {
		d.must[p.Imm] = p
	}
}

// nextPerson returns a new insured person for the storm: an immatriculation no synthetic file holds,
// a CIN with a prefix synth never uses.
func (d *durability) nextPerson(aff string) durPerson {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		d.serial++
		imm := strconv.Itoa(123_000_000 + d.serial)
		if !d.synth[imm] {
			return durPerson{Imm: imm, CIN: fmt.Sprintf("ZZ%06d", d.serial), Nom: "Témoin", Prenom: fmt.Sprintf("Écrit %d", d.serial), Aff: aff}
		}
	}
}

type stormResult struct {
	acked, unknown []durPerson
	refused        []string
}

// storm POSTs new insured people from several goroutines until stop is closed. A 201 is an
// acknowledged write; a request that got no answer once the power is cut (cut set) is unknown.
func (d *durability) storm(client *http.Client, url string, round int, stop <-chan struct{}, cut *atomic.Bool) <-chan stormResult {
	res := make(chan stormResult, durStormWorkers)
	for w := 0; w < durStormWorkers; w++ {
		rng := rand.New(rand.NewPCG(d.seed, uint64(round*100+w)))
		go func() {
			var r stormResult
			defer func() { res <- r }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := d.nextPerson(d.affs[rng.IntN(len(d.affs))])
				body, _ := json.Marshal(map[string]any{"immatriculation": p.Imm, "cin": p.CIN, "nom": p.Nom, "prenom": p.Prenom,
					"date_affiliation": "2025-01-15", "emplois": []map[string]string{{"affiliation": p.Aff, "depuis": "2025-01-15", "etat": "validee"}}})
				req, _ := http.NewRequest("POST", url+"/api/v1/employees", bytes.NewReader(body))
				apiHeaders(req, d.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if cut.Load() {
						r.unknown = append(r.unknown, p)
						return
					}
					r.refused = append(r.refused, fmt.Sprintf("POST %s before the cut: %v", p.Imm, err))
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusCreated:
					r.acked = append(r.acked, p)
				case cut.Load() && len(b) == 0:
					r.unknown = append(r.unknown, p) // headers came, the body did not: no answer
				default:
					r.refused = append(r.refused, fmt.Sprintf("POST %s: %d %s", p.Imm, resp.StatusCode, b))
				}
			}
		}()
	}
	return res
}

type durGot struct {
	Immatriculation string `json:"immatriculation"`
	CIN             string `json:"cin"`
	Nom             string `json:"nom"`
	Prenom          string `json:"prenom"`
	Emplois         []struct {
		Affiliation string `json:"affiliation"`
	} `json:"emplois"`
}

// lookup GETs each person by immatriculation (8 at a time) and returns what the API holds; a 404
// leaves the person out.
func (d *durability) lookup(client *http.Client, url string, people []durPerson) map[string]*durGot {
	out := map[string]*durGot{}
	var mu sync.Mutex
	work := make(chan durPerson)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				req, _ := http.NewRequest("GET", url+"/api/v1/employees/"+p.Imm, nil)
				apiHeaders(req, d.token)
				resp, err := client.Do(req)
				if err != nil {
					d.t.Errorf("GET %s: %v", p.Imm, err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					var g durGot
					if err := json.Unmarshal(b, &g); err != nil {
						d.t.Errorf("GET %s: %v: %s", p.Imm, err, b)
						continue
					}
					mu.Lock()
					out[p.Imm] = &g
					mu.Unlock()
				case http.StatusNotFound:
				default:
					d.t.Errorf("GET %s: %d %s", p.Imm, resp.StatusCode, b)
				}
			}
		}()
	}
	for _, p := range people {
		work <- p
	}
	close(work)
	wg.Wait()
	return out
}

// differs reports how the API's copy differs from what was written, or "".
func (p durPerson) differs(g *durGot) string {
	switch {
	case g.Immatriculation != p.Imm:
		return fmt.Sprintf("immatriculation %q", g.Immatriculation)
	case g.Nom != p.Nom || g.Prenom != p.Prenom:
		return fmt.Sprintf("names %q %q, written %q %q", g.Nom, g.Prenom, p.Nom, p.Prenom)
	case p.CIN != "" && g.CIN != p.CIN:
		return fmt.Sprintf("CIN %q, written %q", g.CIN, p.CIN)
	case len(g.Emplois) == 0 || g.Emplois[0].Affiliation != p.Aff:
		return fmt.Sprintf("employments %+v, written with %s", g.Emplois, p.Aff)
	}
	return ""
}

func values(m map[string]durPerson) []durPerson {
	out := make([]durPerson, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b durPerson) int { return strings.Compare(a.Imm, b.Imm) })
	return out
}

// listing GETs every employer (8 at a time) and returns every insured person the employers list,
// by immatriculation: the whole registry, decrypted by the server, in 50 requests.
func (d *durability) listing(client *http.Client, url, when string) (map[string]*durGot, int) {
	out, n := map[string]*durGot{}, 0
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for aff := range work {
				for cursor := ""; ; { // employees come a page at a time (at most 50), next names the following one
					req, _ := http.NewRequest("GET", url+"/api/v1/employers/"+aff+"?cursor="+cursor, nil)
					apiHeaders(req, d.token)
					resp, err := client.Do(req)
					if err != nil {
						d.t.Errorf("%s: GET employer %s: %v", when, aff, err)
						break
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					var e struct {
						Affiliation string   `json:"affiliation"`
						Salaries    []durGot `json:"salaries"`
						Next        string   `json:"next"`
					}
					if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &e) != nil || e.Affiliation != aff {
						d.t.Errorf("%s: GET employer %s: %d %.300s", when, aff, resp.StatusCode, b)
						break
					}
					mu.Lock()
					for i := range e.Salaries {
						out[e.Salaries[i].Immatriculation] = &e.Salaries[i]
					}
					n += len(e.Salaries)
					mu.Unlock()
					if cursor = e.Next; cursor == "" {
						break
					}
				}
			}
		}()
	}
	for _, aff := range d.affs {
		work <- aff
	}
	close(work)
	wg.Wait()
	return out, n
}

// check reports every person of want that got lacks or holds differently.
func (d *durability) check(when, how string, want []durPerson, got map[string]*durGot) {
	missing := 0
	for _, p := range want {
		g, ok := got[p.Imm]
		if !ok {
			if missing++; missing <= 10 {
				d.t.Errorf("%s: acknowledged insured person %s (%s %s) is missing from %s", when, p.Imm, p.Prenom, p.Nom, how)
			}
			continue
		}
		if diff := p.differs(g); diff != "" {
			d.t.Errorf("%s: insured person %s differs in %s: %s", when, p.Imm, how, diff)
		}
	}
	if missing > 0 {
		d.t.Errorf("%s: %d of %d acknowledged insured people are missing from %s", when, missing, len(want), how)
	}
}

// durSample is how many earlier writes are also read back by immatriculation after each cut (all of
// them after the last one); every one is read back through its employer's listing after each cut.
const durSample = 200

// verify checks, on a freshly started server, that every write that must be present is, with the
// same names and employer: all of them in the employers' listings, and by immatriculation (the blind
// index) the writes acknowledged in the round just cut (fresh), a sample of the earlier ones, or all
// of them when all is set. Then it settles the writes of the round: unknown POSTs (present or absent,
// either is fine, but present means it must stay), and the round's load (all of its rows if it exited
// 0, else all or none). Finally the listings must hold nothing else: no phantom, no half-load.
func (d *durability) verify(client *http.Client, url, when string, fresh, unknown []durPerson, load *durChunkFile, loadOK, all bool) {
	t := d.t
	// `amane employer show` decrypts a few whole employers meanwhile, in processes of their own.
	var shows []*durProc
	var shown []string
	for i := 0; i < 2; i++ {
		aff := d.affs[d.rng.IntN(len(d.affs))]
		shown = append(shown, aff)
		shows = append(shows, d.start("employer", "show", "--data", d.dir, "--affiliation", aff))
	}
	mustNow := values(d.must)
	listed, nlisted := d.listing(client, url, when)
	d.check(when, "the employers' listings", slices.DeleteFunc(slices.Clone(mustNow), func(p durPerson) bool { return p.Unlisted }), listed)

	byImm := mustNow
	if !all {
		byImm = slices.Clone(fresh)
		isFresh := map[string]bool{}
		for _, p := range fresh {
			isFresh[p.Imm] = true
		}
		older := slices.DeleteFunc(slices.Clone(mustNow), func(p durPerson) bool { return isFresh[p.Imm] })
		d.rng.Shuffle(len(older), func(i, j int) { older[i], older[j] = older[j], older[i] })
		byImm = append(byImm, older[:min(durSample, len(older))]...)
	}
	d.check(when, "GET /api/v1/employees/{immatriculation}", byImm, d.lookup(client, url, byImm))
	d.byImm += len(byImm)

	got := d.lookup(client, url, unknown)
	for _, p := range unknown {
		if g, ok := got[p.Imm]; ok {
			if diff := p.differs(g); diff != "" {
				t.Errorf("%s: unacknowledged insured person %s is present but differs: %s", when, p.Imm, diff)
			}
			d.must[p.Imm] = p
			d.unknownPresent++
		} else {
			d.absent[p.Imm] = p
			d.unknownAbsent++
		}
	}

	if load != nil {
		got = d.lookup(client, url, load.people)
		n := len(got)
		for _, p := range load.people {
			if g, ok := got[p.Imm]; ok {
				if diff := p.differs(g); diff != "" {
					t.Errorf("%s: loaded insured person %s differs: %s", when, p.Imm, diff)
				}
			}
		}
		switch {
		case loadOK && n != len(load.people):
			t.Errorf("%s: the load of %s exited 0 but only %d of its %d rows are present", when, filepath.Base(load.path), n, len(load.people))
		case !loadOK && n != 0 && n != len(load.people):
			t.Errorf("%s: the killed load of %s is half-written: %d of its %d rows are present", when, filepath.Base(load.path), n, len(load.people))
		case !loadOK && n == 0:
			d.loadsKilledNone++
		case !loadOK:
			d.loadsKilledAll++
		}
		for _, p := range load.people {
			if n > 0 {
				d.must[p.Imm] = p
			} else {
				d.absent[p.Imm] = p
			}
		}
	}

	phantoms := 0
	for imm := range listed {
		if _, ok := d.must[imm]; !ok {
			if phantoms++; phantoms <= 10 {
				t.Errorf("%s: insured person %s is listed but was never acknowledged nor seen after a cut", when, imm)
			}
		}
	}
	if phantoms > 0 || nlisted != len(listed) {
		t.Errorf("%s: the employers list %d insured people (%d distinct, %d unexpected); %d must be present", when, nlisted, len(listed), phantoms, len(d.must))
	}

	for i, p := range shows {
		<-p.done
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s: amane employer show --affiliation %s: exit %d\n%s", when, shown[i], code, p.errb.String())
			continue
		}
		var e struct {
			Affiliation string `json:"affiliation"`
			Salaries    []struct {
				Immatriculation string `json:"immatriculation"`
				Nom             string `json:"nom"`
			} `json:"salaries"`
		}
		if err := json.Unmarshal([]byte(p.out.String()), &e); err != nil || e.Affiliation != shown[i] {
			t.Errorf("%s: amane employer show --affiliation %s: %v\n%.300s", when, shown[i], err, p.out.String())
			continue
		}
		listed := map[string]bool{}
		for _, s := range e.Salaries {
			if s.Immatriculation == "" || s.Nom == "" {
				t.Errorf("%s: employer %s lists an employee with empty personal fields", when, shown[i])
			}
			listed[s.Immatriculation] = true
		}
		for _, q := range mustNow {
			if q.Aff == shown[i] && !q.Unlisted && !listed[q.Imm] {
				t.Errorf("%s: employer show %s does not list acknowledged employee %s", when, shown[i], q.Imm)
			}
		}
	}
	d.checkStore(when)
}

// checkStore checks the store directly: SQLite's integrity check, and in both stores that every
// insured person not erased has a data key.
func (d *durability) checkStore(when string) {
	t := d.t
	const orphans = `SELECT count(*) FROM employees e LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id
		WHERE k.subject_id IS NULL AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.employee_id = e.id)`
	var n int
	if d.pg != "" {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, d.pg)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, orphans).Scan(&n); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	} else {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, dbFile)+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // the attachment is the connection's
		// Both files: the registry's and the access journal's (attached as "journal").
		if _, err := db.Exec(`ATTACH DATABASE ? AS journal`, "file:"+sqlite.JournalPath(filepath.Join(d.dir, dbFile))+"?mode=ro"); err != nil {
			t.Fatalf("%s: attach the journal: %v", when, err)
		}
		for _, schema := range []string{"main", "journal"} {
			rows, err := db.Query(`PRAGMA ` + schema + `.integrity_check`)
			if err != nil {
				t.Fatalf("%s: integrity_check: %v", when, err)
			}
			var res []string
			for rows.Next() {
				var s string
				rows.Scan(&s)
				res = append(res, s)
			}
			rows.Close()
			if len(res) != 1 || res[0] != "ok" {
				t.Errorf("%s: PRAGMA %s.integrity_check: %q", when, schema, res)
			}
		}
		if err := db.QueryRow(orphans).Scan(&n); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	if n != 0 {
		t.Errorf("%s: %d insured people have no data key", when, n)
	}
}

func (d *durability) run() {
	t := d.t
	begin := time.Now()
	d.prepare()
	t.Logf("prepared (init, synth, base load) in %s", time.Since(begin).Round(time.Millisecond))

	srv, url := d.serve()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	d.verify(client, url, "before the first cut", nil, nil, nil, false, false)
	for round := 1; round <= durRounds && !t.Failed(); round++ {
		stop, cut := make(chan struct{}), &atomic.Bool{}
		results := d.storm(client, url, round, stop, cut)
		chunk := &d.chunks[round-1]
		began := time.Now()
		ld := d.start("load", "--data", d.dir, d.adherents, chunk.path)
		if round%3 == 0 {
			// Every third cut comes just after the load exits (within 50 ms, the storm still running),
			// so that each run checks loads that reported success, however slow the machine: with
			// few rounds, random cuts alone may kill every load before its commit.
			select {
			case <-ld.done:
			case <-time.After(time.Minute):
			}
			time.Sleep(time.Duration(d.rng.IntN(50)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(100+d.rng.IntN(701)) * time.Millisecond)
		}
		delay := time.Since(began)

		// The power cut.
		cut.Store(true)
		srv.cmd.Process.Kill()
		ld.cmd.Process.Kill()
		<-srv.done
		<-ld.done
		close(stop)
		var acked, unknown []durPerson
		for w := 0; w < durStormWorkers; w++ {
			r := <-results
			acked, unknown = append(acked, r.acked...), append(unknown, r.unknown...)
			for _, s := range r.refused {
				d.refused++
				t.Errorf("round %d: %s", round, s)
			}
		}
		client.CloseIdleConnections()
		loadOK := ld.cmd.ProcessState.ExitCode() == 0
		switch {
		case loadOK:
			d.loadsOK++
		case !ld.signaled():
			d.loadsFailed++
			t.Errorf("round %d: amane load failed on its own: %v\n%s", round, ld.cmd.ProcessState, ld.errb.String())
		}
		for _, p := range acked {
			d.must[p.Imm] = p
		}
		d.acked += len(acked)
		loadState := "killed"
		if loadOK { // "Loaded 150 rows in 31ms …": the time from BeginLoad to Commit, the window a cut must hit
			loadState = "exited 0 (" + strings.SplitN(strings.TrimPrefix(ld.out.String(), "Loaded "), " (", 2)[0] + ")"
		}
		t.Logf("round %2d: cut after %3d ms: %3d POSTs acknowledged, %d unanswered; load %s",
			round, delay.Milliseconds(), len(acked), len(unknown), loadState)

		srv, url = d.serve()
		d.verify(client, url, fmt.Sprintf("after cut %d", round), acked, unknown, chunk, loadOK, round == durRounds)
	}

	// Nothing seen absent after a cut may come back later.
	got := d.lookup(client, url, values(d.absent))
	for imm := range got {
		t.Errorf("insured person %s was absent after its cut and is present now", imm)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("serve exited %d after SIGTERM:\n%s", code, srv.errb.String())
	}
	d.checkStore("after the last server stopped")
	t.Logf("%s: %d acknowledged POSTs (%d unanswered at a cut: %d present, %d absent), %d refused; loads: %d exited 0, %d killed and absent, %d killed and complete, %d failed; %d insured people must be present, %d reads by immatriculation; %s",
		t.Name(), d.acked, d.unknownPresent+d.unknownAbsent, d.unknownPresent, d.unknownAbsent, d.refused,
		d.loadsOK, d.loadsKilledNone, d.loadsKilledAll, d.loadsFailed, len(d.must), d.byImm, time.Since(begin).Round(time.Millisecond))
}
