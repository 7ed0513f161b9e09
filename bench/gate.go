package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"amane"
	"amane/bench/internal/baseline"
	"amane/gate"
	"amane/ids"
	"amane/journal"
	"amane/load"
	"amane/web"

	"golang.org/x/mod/sumdb/tlog"
)

// GateConfig sizes `amane-bench gate`.
type GateConfig struct {
	Employees int
	Employers int           // default Employees/4
	Conns     int           // concurrent HTTP/1.1 keep-alive connections; default 16
	Duration  time.Duration // measured time per mode and round; default 20 s
	Warmup    time.Duration // unmeasured, per mode, before the first round; default Duration/10, at most 2 s
	Rounds    int           // rounds, the modes alternating which goes first; default 2
	Seed      uint64
	Dir       string // work directory; default a temporary one, removed after
	DB        string // postgres://…: the store in a schema of this database (dropped after); default SQLite in Dir
}

// GateMode is one mode's figures over all its rounds.
type GateMode struct {
	Requests       int64   `json:"requests"`
	Seconds        float64 `json:"seconds"`
	RequestsPerSec float64 `json:"requests_per_s"`
	P50us          float64 `json:"p50_us"`
	P99us          float64 `json:"p99_us"`
	MaxUs          float64 `json:"max_us"`
	Errors         int64   `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	// JournalEntries is how much the journal grew during the measured windows.
	JournalEntries    int64   `json:"journal_entries"`
	EntriesPerRequest float64 `json:"journal_entries_per_request"`
	// Rounds are each round's requests/s, in order.
	Rounds []float64 `json:"rounds_requests_per_s"`
	// CPU the whole process (server and clients) used during the windows, from /proc/self/stat (0
	// where there is none): per request, and as CPUs busy on average (at most runtime.NumCPU()).
	CPUusPerRequest float64 `json:"cpu_us_per_request"`
	CPUsBusy        float64 `json:"cpus_busy"`
	cpu             time.Duration
}

// GateReport is what `amane-bench gate` prints.
type GateReport struct {
	Employees int    `json:"employees"`
	Employers int    `json:"employers"`
	Conns     int    `json:"conns"`
	Duration  string `json:"duration"`
	Rounds    int    `json:"rounds"`
	// Gated: the real gate (authorization, purpose, a durable journal entry per read). Ungated: the
	// same store, vault and server through a gate whose journal keeps nothing (bench/internal/baseline):
	// it decides as the gated one does (principal, role, purpose, scope, masking: CPU only, and too
	// little to show in a CPU profile, docs/benchmarks.md) and appends nothing.
	Gated   GateMode `json:"gated"`
	Ungated GateMode `json:"ungated"`
	// ThroughputRatio = gated requests/s ÷ ungated (≥ 0.7 is the goal); P99Ratio = gated p99 ÷ ungated.
	ThroughputRatio float64 `json:"throughput_ratio"`
	P99Ratio        float64 `json:"p99_ratio"`
	// The journal, in the same store as the registry (as `amane serve` keeps it).
	JournalSize       int64   `json:"journal_size"`        // entries at the end, warm-ups included
	JournalEntryBytes int     `json:"journal_entry_bytes"` // the last entry's encoded size
	StoreBytesBefore  int64   `json:"store_bytes_before"`  // after the load
	StoreBytesAfter   int64   `json:"store_bytes_after"`
	BytesPerEntry     float64 `json:"store_bytes_per_journal_entry"` // growth ÷ entries appended
	// The journal's group commits during the whole run (warm-ups included): how many, how many entries
	// each on average, and how long the store took to write one (one transaction, fsync included).
	JournalCommits   int     `json:"journal_commits"`
	JournalBatch     float64 `json:"journal_entries_per_commit"`
	JournalCommitP50 float64 `json:"journal_commit_p50_us"`
	JournalCommitP99 float64 `json:"journal_commit_p99_us"`
	Machine          string  `json:"machine"`
	Store            string  `json:"store"`
}

// Gate runs the gate benchmark: a synthetic registry served over HTTP on 127.0.0.1, once through
// the real gate and its journal, once through a gate whose journal keeps nothing, driven by cfg.Conns
// clients reading random insured people (GET /api/v1/employees/{immatriculation}) as an operator
// stating a purpose.
func Gate(ctx context.Context, cfg GateConfig, logf func(format string, args ...any)) (*GateReport, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Employees <= 0 {
		cfg.Employees = 20000
	}
	if cfg.Employers <= 0 {
		cfg.Employers = max(1, cfg.Employees/4)
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 16
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = min(2*time.Second, cfg.Duration/10)
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 2
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	cleanup, err := workDir(&cfg.Dir, "amane-bench-gate-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &GateReport{Employees: cfg.Employees, Employers: cfg.Employers, Conns: cfg.Conns, Duration: cfg.Duration.String(),
		Rounds: cfg.Rounds, Machine: machine(), Store: storeName(cfg.DB)}

	// The registry: synthetic files, loaded with the real vault.
	adh, sal := filepath.Join(cfg.Dir, "ADHERENTS.csv"), filepath.Join(cfg.Dir, "SALARIES.csv")
	if err := writeFiles(ctx, RegistryConfig{Employees: cfg.Employees, Employers: cfg.Employers, Seed: cfg.Seed}, adh, sal); err != nil {
		return nil, err
	}
	imms, err := immatriculations(sal)
	if err != nil {
		return nil, err
	}
	st, v, size, closeStore, err := loadedStore(ctx, cfg.Dir, cfg.DB, "gate", nil, adh, sal)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	logf("loaded %d employers, %d insured people", cfg.Employers, len(imms))
	if rep.StoreBytesBefore, err = size(); err != nil {
		return nil, err
	}

	// The journal in the same store, and both gates, as `amane serve` opens them.
	var timed *timedJournalStore
	j, js, err := openJournal(ctx, st, cfg.Dir, func(s journal.Store) journal.Store { timed = &timedJournalStore{Store: s}; return timed })
	if err != nil {
		return nil, err
	}
	jclosed := false
	defer func() {
		if !jclosed {
			j.Close()
		}
	}()
	gated := gate.New(st, v).UseJournal(j, js).SetPurposes(amane.DefaultPurposes)
	// The baseline is injected, not switched on inside the gate: the same constructor, the same code
	// path to the last line, but a journal that keeps nothing. The gate holds no branch that skips its
	// checks, so no caller can build one that does.
	ungated := gate.New(st, v).UseJournal(baseline.Journal{}, js).SetPurposes(amane.DefaultPurposes)
	token := web.NewToken()
	if err := st.AddOperatorToken(ctx, web.TokenHash(token), "amane-bench gate"); err != nil {
		return nil, err
	}

	// Both servers listen for the whole run; each mode's window drives one of them.
	sctx, stop := context.WithCancel(ctx)
	var servers sync.WaitGroup
	defer func() { stop(); servers.Wait() }()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil)) // `amane serve` logs one JSON line per request
	type mode struct {
		name string
		base string
		rep  *GateMode
		lat  []time.Duration
	}
	modes := []*mode{{name: "gated", rep: &rep.Gated}, {name: "ungated", rep: &rep.Ungated}}
	for i, reg := range []*gate.Gate{gated, ungated} {
		srv := web.NewServer(reg, st, logger)
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		// The server's goroutines carry the label mode=<name> in CPU profiles; the clients' client=<name>.
		servers.Go(func() {
			pprof.Do(sctx, pprof.Labels("mode", modes[i].name), func(sctx context.Context) {
				errc <- srv.ListenAndServe(sctx, "127.0.0.1:0", func(a string) { ready <- a })
			})
		})
		select {
		case a := <-ready:
			modes[i].base = "http://" + a
		case err := <-errc:
			return nil, err
		}
	}

	d := &driver{token: token, imms: imms, conns: cfg.Conns}
	for _, m := range modes { // warm-up: caches, connections, the journal's first batches
		if _, err := d.run(ctx, m.name, m.base, cfg.Warmup, cfg.Seed); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", m.name, err)
		}
	}
	for round := 0; round < cfg.Rounds; round++ {
		for i := range modes {
			m := modes[(i+round)%2] // alternate which mode goes first
			runtime.GC()
			before, cpu0 := j.Size(), processCPU()
			w, err := d.run(ctx, m.name, m.base, cfg.Duration, cfg.Seed+uint64(round)*2+uint64(i)+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			grown := j.Size() - before
			r := m.rep
			r.cpu += processCPU() - cpu0
			r.Requests += w.requests
			r.Seconds += w.elapsed.Seconds()
			r.Errors += w.errors
			if r.FirstError == "" {
				r.FirstError = w.firstError
			}
			r.JournalEntries += grown
			r.Rounds = append(r.Rounds, float64(w.requests)/w.elapsed.Seconds())
			m.lat = append(m.lat, w.lat...)
			t := timing(w.lat)
			logf("round %d %s: %.0f requests/s, p50 %.0f µs p99 %.0f µs, %d errors, journal +%d, %.2f CPUs busy", round+1, m.name,
				float64(w.requests)/w.elapsed.Seconds(), t.P50us, t.P99us, w.errors, grown, (processCPU()-cpu0).Seconds()/w.elapsed.Seconds())
		}
	}
	for _, m := range modes {
		t := timing(m.lat)
		m.rep.P50us, m.rep.P99us, m.rep.MaxUs = t.P50us, t.P99us, t.MaxUs
		m.rep.RequestsPerSec = float64(m.rep.Requests) / m.rep.Seconds
		if m.rep.Requests > 0 {
			m.rep.EntriesPerRequest = float64(m.rep.JournalEntries) / float64(m.rep.Requests)
			m.rep.CPUusPerRequest = us(m.rep.cpu) / float64(m.rep.Requests)
		}
		m.rep.CPUsBusy = m.rep.cpu.Seconds() / m.rep.Seconds
	}
	rep.ThroughputRatio = rep.Gated.RequestsPerSec / rep.Ungated.RequestsPerSec
	rep.P99Ratio = rep.Gated.P99us / rep.Ungated.P99us

	stop()
	servers.Wait()
	jclosed = true
	if err := j.Close(); err != nil {
		return nil, err
	}
	timed.mu.Lock()
	rep.JournalCommits = len(timed.commits)
	if rep.JournalCommits > 0 {
		rep.JournalBatch = float64(timed.entries) / float64(rep.JournalCommits)
		t := timing(timed.commits)
		rep.JournalCommitP50, rep.JournalCommitP99 = t.P50us, t.P99us
	}
	timed.mu.Unlock()
	if rep.JournalSize, err = js.JournalSize(ctx); err != nil {
		return nil, err
	}
	if rep.JournalSize > 0 {
		last, err := js.JournalEntries(ctx, rep.JournalSize-1, rep.JournalSize)
		if err != nil {
			return nil, err
		}
		rep.JournalEntryBytes = len(last[0])
		if rep.StoreBytesAfter, err = size(); err != nil {
			return nil, err
		}
		rep.BytesPerEntry = float64(rep.StoreBytesAfter-rep.StoreBytesBefore) / float64(rep.JournalSize)
	}
	return rep, nil
}

// timedJournalStore times the journal's group commits (AppendJournal: one transaction each).
type timedJournalStore struct {
	journal.Store
	mu      sync.Mutex
	commits []time.Duration
	entries int
}

func (s *timedJournalStore) AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error {
	t := time.Now()
	err := s.Store.AppendJournal(ctx, n, entries, records, hashes)
	d := time.Since(t)
	s.mu.Lock()
	s.commits = append(s.commits, d)
	s.entries += len(entries)
	s.mu.Unlock()
	return err
}

// loadFiles loads both files through g (which seals) into st, as the system.
func loadFiles(ctx context.Context, st benchStore, g *gate.Gate, adh, sal string) error {
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "bench", Role: amane.RoleSystem})
	af, err := os.Open(adh)
	if err != nil {
		return err
	}
	defer af.Close()
	sf, err := os.Open(sal)
	if err != nil {
		return err
	}
	defer sf.Close()
	_, err = load.Load(ctx, st, g, &load.Source{Name: "ADHERENTS.csv", R: af}, &load.Source{Name: "SALARIES.csv", R: sf}, load.Options{})
	return err
}

// immatriculations returns the distinct immatriculations of SALARIES.csv, normalized.
func immatriculations(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	seen := map[string]bool{}
	var out []string
	for line := 0; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if line == 0 || rec[0] == "" {
			continue
		}
		imm, err := ids.ParseImmatriculation(rec[0])
		if err != nil {
			return nil, err
		}
		if !seen[imm] {
			seen[imm] = true
			out = append(out, imm)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no insured person in " + path)
	}
	return out, nil
}

// driver drives a server with conns clients, each on its own keep-alive connection.
type driver struct {
	token string
	imms  []string
	conns int
}

// window is one run's result.
type window struct {
	requests, errors int64
	firstError       string
	elapsed          time.Duration
	lat              []time.Duration
}

// add counts one client's requests into the window (under the caller's lock).
func (w *window) add(lat []time.Duration, errs int64, first string) {
	w.lat = append(w.lat, lat...)
	w.requests += int64(len(lat))
	w.errors += errs
	if w.firstError == "" {
		w.firstError = first
	}
}

// maxErrors stops a window early: a server that fails every request is not measured.
const maxErrors = 1000

func (d *driver) run(ctx context.Context, name, base string, dur time.Duration, seed uint64) (*window, error) {
	w := &window{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for c := range d.conns {
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("client", name), func(ctx context.Context) { d.client(ctx, w, &mu, base, deadline, seed, c) })
		})
	}
	wg.Wait()
	w.elapsed = time.Since(start)
	return w, ctx.Err()
}

// client is one connection's loop until deadline; it adds its figures to w.
func (d *driver) client(ctx context.Context, w *window, mu *sync.Mutex, base string, deadline time.Time, seed uint64, c int) {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	rng := rand.New(rand.NewPCG(seed, uint64(c)))
	lat := make([]time.Duration, 0, 4096)
	var errs int64
	var first string
	for i := 0; time.Now().Before(deadline); i++ {
		imm := d.imms[rng.IntN(len(d.imms))]
		t := time.Now()
		err := d.get(ctx, client, base, imm, i == 0)
		lat = append(lat, time.Since(t))
		if err != nil {
			errs++
			if first == "" {
				first = err.Error()
			}
			if errs >= maxErrors || ctx.Err() != nil {
				break
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	w.add(lat, errs, first)
}

// get reads one insured person as an operator stating a purpose; check decodes the answer and checks
// it is that person.
func (d *driver) get(ctx context.Context, client *http.Client, base, imm string, check bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/employees/"+imm, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("X-Amane-Purpose", "dossier")
	req.Header.Set("X-Amane-Reference", "DOS-2026/0001")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET /api/v1/employees/{immatriculation}: %s: %s", resp.Status, b)
	}
	if !check {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	var e amane.Employee
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return err
	}
	if e.Immatriculation != imm || e.Surname == "" || len(e.Employments) == 0 {
		return fmt.Errorf("GET /api/v1/employees/{immatriculation}: asked %s, got %q (%d employments)", imm, e.Immatriculation, len(e.Employments))
	}
	if e.CIN != "" && e.CIN == maskless(e.CIN) {
		return errors.New("GET /api/v1/employees/{immatriculation}: the CIN came back in clear without a reveal")
	}
	return nil
}

// maskless returns s if it holds no mask character.
func maskless(s string) string {
	for _, r := range s {
		if r == '*' || r == '•' || r == '×' {
			return ""
		}
	}
	return s
}

// processCPU is the CPU time (user and system) this process used so far, from /proc/self/stat; 0
// where there is no such file.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (in parentheses, which may hold spaces): state is field 3,
	// utime and stime fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * 10 * time.Millisecond
}
