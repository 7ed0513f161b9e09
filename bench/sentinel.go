package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"amane"
	"amane/gate"
	"amane/ids"
	"amane/sentinel"
)

// SentinelConfig sizes `amane-bench sentinel`: the detector's throughput on simulated traffic, and the
// latency the sentinel adds to the gate on a synthetic registry.
type SentinelConfig struct {
	// The detector: sentinel.Simulate at these sizes (default the full scale: 30 days, 300
	// agents, 20,000 employers), once per attack profile (default cnss-2024, then none).
	Days, Agents, SimEmployers int
	Attacks                    []string
	// The gate: a synthetic registry of Employees (default 20,000) and Employers (default Employees/4).
	Employees, Employers int
	// GateAgents agents (default 64) each read RecordsPerAgent distinct records of their own agency
	// (default 40, under every default threshold: 60 distinct records in 10 minutes is the lowest alert),
	// again and again, so that no bench principal is ever alerted, throttled or suspended.
	GateAgents      int
	RecordsPerAgent int
	Duration        time.Duration // measured time per mode, round and concurrency; default 5 s
	Rounds          int           // rounds, the modes rotating which goes first; default 3
	Concurrency     []int         // goroutines calling the gate; default 1 and 8
	Seed            uint64
	Dir             string // work directory; default a temporary one, removed after
	DB              string // postgres://…: the store in a schema of this database (dropped after); default SQLite in Dir
}

// SentinelReport is what `amane-bench sentinel` prints.
type SentinelReport struct {
	Detector []SentinelDetector `json:"detector"`
	Gate     SentinelGate       `json:"gate"`
	Machine  string             `json:"machine"`
	Store    string             `json:"store"`
}

// SentinelDetector is one simulated run fed through one Detector (sentinel.DefaultConfig, the
// simulation's canaries). Generation is not timed: the events are materialised first.
type SentinelDetector struct {
	Attack     string `json:"attack"`
	Days       int    `json:"days"`
	Agents     int    `json:"agents"`
	Employers  int    `json:"employers"`
	Seed       uint64 `json:"seed"`
	Events     int    `json:"events"`
	Principals int    `json:"principals"`
	// EventsContained are events of principals already suspended: the detector counts them and does
	// nothing else, so they are far cheaper than the others.
	EventsContained int            `json:"events_contained"`
	Responses       map[string]int `json:"responses"`
	GenerateSeconds float64        `json:"generate_seconds"`
	Seconds         float64        `json:"seconds"`
	EventsPerSec    float64        `json:"events_per_s"`
	NsPerEvent      float64        `json:"ns_per_event"`
	// Memory after the run (runtime.ReadMemStats after a GC, the events dropped, the detector kept):
	// HeapInuse of the whole process, and the heap the detector's state holds (HeapAlloc after minus
	// HeapAlloc before the simulation), per principal.
	HeapInuseBytes            uint64  `json:"heap_inuse_bytes"`
	DetectorHeapBytes         int64   `json:"detector_heap_bytes"`
	DetectorBytesPerPrincipal float64 `json:"detector_bytes_per_principal"`
	HeapInuseWithEvents       uint64  `json:"heap_inuse_bytes_with_events"`
}

// SentinelGate is the gate's added latency: the same reads through the gate without a sentinel, with
// a sentinel holding no signal (sentinel.Config{}: the cost of the Live wrapper and the events), and
// with sentinel.DefaultConfig().
type SentinelGate struct {
	Employees       int               `json:"employees"`
	Employers       int               `json:"employers"`
	Agents          int               `json:"agents"`
	RecordsPerAgent int               `json:"records_per_agent"`
	Duration        string            `json:"duration"`
	Rounds          int               `json:"rounds"`
	Workload        string            `json:"workload"`
	Runs            []SentinelGateRun `json:"runs"`
}

// SentinelGateRun is one concurrency's figures. Added* are on − off, in µs; ThroughputRatio is
// on ÷ off calls/s (1 means free).
type SentinelGateRun struct {
	Goroutines             int              `json:"goroutines"`
	Off                    SentinelGateMode `json:"off"`
	OnEmpty                SentinelGateMode `json:"on_empty_config"`
	OnDefault              SentinelGateMode `json:"on_default_config"`
	AddedP50us             float64          `json:"added_p50_us"`
	AddedP99us             float64          `json:"added_p99_us"`
	ThroughputRatio        float64          `json:"throughput_ratio"`
	AddedEmptyP50us        float64          `json:"added_p50_us_empty_config"`
	AddedEmptyP99us        float64          `json:"added_p99_us_empty_config"`
	ThroughputRatioEmpty   float64          `json:"throughput_ratio_empty_config"`
	RoundsCallsPerSecOff   []float64        `json:"rounds_calls_per_s_off"`
	RoundsCallsPerSecOnDef []float64        `json:"rounds_calls_per_s_on_default"`
}

// SentinelGateMode is one mode's figures over all its rounds, at one concurrency.
type SentinelGateMode struct {
	Calls       int64   `json:"calls"`
	Seconds     float64 `json:"seconds"`
	CallsPerSec float64 `json:"calls_per_s"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	MaxUs       float64 `json:"max_us"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	// Responses the sentinel took during the whole run (warm-ups included): none is expected.
	Responses map[string]int `json:"responses,omitempty"`
	// Time inside the sentinel's AdmitRelease (a grant's records, counted before release) or Observe
	// (a refusal), which the gate calls once per decision (the measured windows only). The door check (is the principal suspended or throttled?) is not timed apart: it
	// is in the end-to-end figures.
	Observe *Timing `json:"sentinel_observe,omitempty"`
	lat     []time.Duration
	rounds  []float64
	observe []time.Duration
}

// Sentinel runs the sentinel benchmark.
func Sentinel(ctx context.Context, cfg SentinelConfig, logf func(format string, args ...any)) (*SentinelReport, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Days <= 0 {
		cfg.Days = 30
	}
	if cfg.Agents <= 0 {
		cfg.Agents = 300
	}
	if cfg.SimEmployers <= 0 {
		cfg.SimEmployers = 20000
	}
	if len(cfg.Attacks) == 0 {
		cfg.Attacks = []string{"cnss-2024", "none"}
	}
	if cfg.Employees <= 0 {
		cfg.Employees = 20000
	}
	if cfg.Employers <= 0 {
		cfg.Employers = max(1, cfg.Employees/4)
	}
	if cfg.GateAgents <= 0 {
		cfg.GateAgents = 64
	}
	if cfg.RecordsPerAgent <= 0 {
		cfg.RecordsPerAgent = 40
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if len(cfg.Concurrency) == 0 {
		cfg.Concurrency = []int{1, 8}
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	rep := &SentinelReport{Machine: machine(), Store: storeName(cfg.DB)}
	for _, attack := range cfg.Attacks {
		d, err := detectorThroughput(cfg, attack)
		if err != nil {
			return nil, err
		}
		logf("detector, %s: %d events (%d from suspended principals) in %.2f s: %.0f events/s, %.0f ns/event; %d principals, detector heap %.1f MB (%.0f B/principal)",
			attack, d.Events, d.EventsContained, d.Seconds, d.EventsPerSec, d.NsPerEvent, d.Principals,
			float64(d.DetectorHeapBytes)/1e6, d.DetectorBytesPerPrincipal)
		rep.Detector = append(rep.Detector, d)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	g, err := gateLatency(ctx, cfg, logf)
	if err != nil {
		return nil, err
	}
	rep.Gate = *g
	return rep, nil
}

// detectorThroughput materialises one simulation, then times feeding it through one Detector.
func detectorThroughput(cfg SentinelConfig, attack string) (SentinelDetector, error) {
	r := SentinelDetector{Attack: attack, Days: cfg.Days, Agents: cfg.Agents, Employers: cfg.SimEmployers, Seed: cfg.Seed,
		Responses: map[string]int{}}
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapAlloc

	seq, truth, err := sentinel.Simulate(sentinel.SimConfig{Days: cfg.Days, Agents: cfg.Agents, Employers: cfg.SimEmployers,
		Attack: attack, Seed: cfg.Seed})
	if err != nil {
		return r, err
	}
	t := time.Now()
	var events []sentinel.Event
	principals := map[string]struct{}{}
	for e := range seq {
		events = append(events, e)
		principals[e.Principal] = struct{}{}
	}
	r.GenerateSeconds = time.Since(t).Seconds()
	r.Events, r.Principals = len(events), len(principals)
	principals = nil
	runtime.GC()

	d := sentinel.New(sentinel.DefaultConfig(), truth.Canaries)
	t = time.Now()
	for _, e := range events {
		for _, resp := range d.Observe(e) {
			r.Responses[resp.Response]++
		}
	}
	el := time.Since(t)
	r.Seconds = el.Seconds()
	if r.Events > 0 {
		r.EventsPerSec = float64(r.Events) / r.Seconds
		r.NsPerEvent = float64(el.Nanoseconds()) / float64(r.Events)
	}
	for _, p := range truth.Attackers {
		r.EventsContained += d.Contained(p)
	}
	runtime.ReadMemStats(&m)
	r.HeapInuseWithEvents = m.HeapInuse

	events = nil
	runtime.GC()
	runtime.ReadMemStats(&m)
	r.HeapInuseBytes = m.HeapInuse
	r.DetectorHeapBytes = int64(m.HeapAlloc) - int64(before)
	if r.Principals > 0 {
		r.DetectorBytesPerPrincipal = float64(r.DetectorHeapBytes) / float64(r.Principals)
	}
	runtime.KeepAlive(d)
	return r, nil
}

// timedSentinel times the gate's calls to AdmitRelease and Observe. It embeds the *sentinel.Live the gate would be
// given, so it has every method the gate's Sentinel interface asks of Live. Durations go into a
// preallocated buffer through an atomic index, so recording adds no lock beside Live's own.
type timedSentinel struct {
	*sentinel.Live
	on  atomic.Bool
	n   atomic.Int64
	obs []time.Duration
}

// timedSentinelCap bounds the calls timed per window; the others are still served, not timed.
const timedSentinelCap = 1 << 21

func (s *timedSentinel) start() {
	if s == nil {
		return
	}
	if s.obs == nil {
		s.obs = make([]time.Duration, timedSentinelCap)
	}
	s.n.Store(0)
	s.on.Store(true)
}

// stop ends the window and returns a copy of its durations.
func (s *timedSentinel) stop() []time.Duration {
	if s == nil {
		return nil
	}
	s.on.Store(false)
	return slices.Clone(s.obs[:min(s.n.Load(), timedSentinelCap)])
}

func (s *timedSentinel) Observe(e sentinel.Event) []sentinel.Response {
	if !s.on.Load() {
		return s.Live.Observe(e)
	}
	t := time.Now()
	out := s.Live.Observe(e)
	s.record(time.Since(t))
	return out
}

// AdmitRelease is timed as Observe is: a grant's records are counted there, before release, and a
// refusal's in Observe.
func (s *timedSentinel) AdmitRelease(es []sentinel.Event) string {
	if !s.on.Load() {
		return s.Live.AdmitRelease(es)
	}
	t := time.Now()
	out := s.Live.AdmitRelease(es)
	s.record(time.Since(t))
	return out
}

func (s *timedSentinel) record(d time.Duration) {
	if i := s.n.Add(1) - 1; i < timedSentinelCap {
		s.obs[i] = d
	}
}

// benchAgent is one bench principal and the records it reads.
type benchAgent struct {
	ctx     context.Context
	records []string
}

// gateLatency times gate.Employee calls by agents through three gates over one store and journal:
// no sentinel, a sentinel with no signal, the default sentinel.
func gateLatency(ctx context.Context, cfg SentinelConfig, logf func(format string, args ...any)) (*SentinelGate, error) {
	cleanup, err := workDir(&cfg.Dir, "amane-bench-sentinel-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &SentinelGate{Employees: cfg.Employees, Employers: cfg.Employers, Agents: cfg.GateAgents, RecordsPerAgent: cfg.RecordsPerAgent,
		Duration: cfg.Duration.String(), Rounds: cfg.Rounds,
		Workload: fmt.Sprintf("gate.Employee in process (no HTTP), journaled; %d agents, each reading %d distinct records of its own agency again and again with a purpose, so that no default threshold is reached (the lowest: 60 distinct records in 10 minutes)",
			cfg.GateAgents, cfg.RecordsPerAgent)}

	adh, sal := filepath.Join(cfg.Dir, "ADHERENTS.csv"), filepath.Join(cfg.Dir, "SALARIES.csv")
	if err := writeFiles(ctx, RegistryConfig{Employees: cfg.Employees, Employers: cfg.Employers, Seed: cfg.Seed}, adh, sal); err != nil {
		return nil, err
	}
	byAgency, err := immatriculationsByAgency(adh, sal)
	if err != nil {
		return nil, err
	}
	st, v, _, closeStore, err := loadedStore(ctx, cfg.Dir, cfg.DB, "sentinel", nil, adh, sal)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	j, js, err := openJournal(ctx, st, cfg.Dir, nil)
	if err != nil {
		return nil, err
	}
	defer j.Close()

	// The agents: spread over the agencies, each with its own records.
	agencies := make([]string, 0, len(byAgency))
	for a := range byAgency {
		agencies = append(agencies, a)
	}
	slices.Sort(agencies)
	rng := rand.New(rand.NewPCG(cfg.Seed, 11))
	agents := make([]benchAgent, cfg.GateAgents)
	for i := range agents {
		agency := agencies[i%len(agencies)]
		pool := byAgency[agency]
		recs := make([]string, min(cfg.RecordsPerAgent, len(pool)))
		for k, x := range rng.Perm(len(pool))[:len(recs)] {
			recs[k] = pool[x]
		}
		actx := amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: fmt.Sprintf("account/%d", 900000+i), Role: amane.RoleAgent, Agency: agency})
		actx = amane.NewContextWithPurpose(actx, amane.Purpose{Code: "dossier", Reference: fmt.Sprintf("DOS-2026/%04d", i%10000)})
		agents[i] = benchAgent{ctx: actx, records: recs}
	}
	logf("loaded %d employers, %d agencies; %d agents reading %d records each", cfg.Employers, len(agencies), len(agents), cfg.RecordsPerAgent)

	// Three gates over the same store, vault and journal.
	type mode struct {
		name  string
		g     *gate.Gate
		mu    sync.Mutex
		resp  map[string]int
		timed *timedSentinel
	}
	newGate := func() *gate.Gate { return gate.New(st, v).UseJournal(j, js).SetPurposes(amane.DefaultPurposes) }
	modes := []*mode{{name: "off", g: newGate()}, {name: "on-empty", g: newGate()}, {name: "on-default", g: newGate()}}
	for i, c := range []sentinel.Config{{}, sentinel.DefaultConfig()} {
		m := modes[i+1]
		m.resp = map[string]int{}
		live := sentinel.NewLive(sentinel.New(c, nil))
		live.OnResponse = func(r sentinel.Response) { m.mu.Lock(); m.resp[r.Response]++; m.mu.Unlock() }
		m.timed = &timedSentinel{Live: live}
		m.g.UseSentinel(m.timed)
	}

	for _, conc := range cfg.Concurrency {
		run := SentinelGateRun{Goroutines: conc}
		figures := []*SentinelGateMode{&run.Off, &run.OnEmpty, &run.OnDefault}
		for _, m := range modes { // warm-up: the opener's caches, the journal's first batches
			if _, err := readWindow(ctx, m.g, agents, conc, cfg.Duration/5, cfg.Seed); err != nil {
				return nil, fmt.Errorf("%s warm-up: %w", m.name, err)
			}
		}
		for round := 0; round < cfg.Rounds; round++ {
			for i := range modes {
				k := (i + round) % len(modes) // rotate which mode goes first
				runtime.GC()
				modes[k].timed.start()
				w, err := readWindow(ctx, modes[k].g, agents, conc, cfg.Duration, cfg.Seed+uint64(round)+1)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", modes[k].name, err)
				}
				f := figures[k]
				f.observe = append(f.observe, modes[k].timed.stop()...)
				f.Calls += w.requests
				f.Seconds += w.elapsed.Seconds()
				f.Errors += w.errors
				if f.FirstError == "" {
					f.FirstError = w.firstError
				}
				f.lat = append(f.lat, w.lat...)
				f.rounds = append(f.rounds, float64(w.requests)/w.elapsed.Seconds())
				t := timing(w.lat)
				logf("%d goroutines, round %d, sentinel %s: %.0f calls/s, p50 %.0f µs p99 %.0f µs, %d errors", conc, round+1, modes[k].name,
					float64(w.requests)/w.elapsed.Seconds(), t.P50us, t.P99us, w.errors)
			}
		}
		for k, f := range figures {
			t := timing(f.lat)
			f.P50us, f.P99us, f.MaxUs = t.P50us, t.P99us, t.MaxUs
			if f.Seconds > 0 {
				f.CallsPerSec = float64(f.Calls) / f.Seconds
			}
			f.lat = nil
			if modes[k].timed != nil {
				o := timing(f.observe)
				f.Observe, f.observe = &o, nil
			}
			if modes[k].resp != nil {
				modes[k].mu.Lock()
				f.Responses = maps.Clone(modes[k].resp)
				modes[k].mu.Unlock()
			}
		}
		run.RoundsCallsPerSecOff, run.RoundsCallsPerSecOnDef = run.Off.rounds, run.OnDefault.rounds
		run.AddedP50us, run.AddedP99us = run.OnDefault.P50us-run.Off.P50us, run.OnDefault.P99us-run.Off.P99us
		run.AddedEmptyP50us, run.AddedEmptyP99us = run.OnEmpty.P50us-run.Off.P50us, run.OnEmpty.P99us-run.Off.P99us
		if run.Off.CallsPerSec > 0 {
			run.ThroughputRatio = run.OnDefault.CallsPerSec / run.Off.CallsPerSec
			run.ThroughputRatioEmpty = run.OnEmpty.CallsPerSec / run.Off.CallsPerSec
		}
		logf("%d goroutines: sentinel off p50 %.0f µs p99 %.0f µs; default config %+.0f µs p50, %+.0f µs p99, throughput ×%.3f; empty config %+.0f µs p50, %+.0f µs p99, ×%.3f",
			conc, run.Off.P50us, run.Off.P99us, run.AddedP50us, run.AddedP99us, run.ThroughputRatio,
			run.AddedEmptyP50us, run.AddedEmptyP99us, run.ThroughputRatioEmpty)
		for k, f := range figures[1:] {
			logf("%d goroutines, sentinel %s: Observe p50 %.1f µs p99 %.1f µs, responses %v",
				conc, modes[k+1].name, f.Observe.P50us, f.Observe.P99us, f.Responses)
		}
		rep.Runs = append(rep.Runs, run)
	}
	return rep, nil
}

// readWindow has conc goroutines call g.Employee until dur has passed; goroutine c serves agents c,
// c+conc, … in turn, each reading one of its records at random.
func readWindow(ctx context.Context, g *gate.Gate, agents []benchAgent, conc int, dur time.Duration, seed uint64) (*window, error) {
	w := &window{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for c := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			lat := make([]time.Duration, 0, 4096)
			var errs int64
			var first string
			for i := c; time.Now().Before(deadline) && ctx.Err() == nil; i += conc {
				a := &agents[i%len(agents)]
				imm := a.records[rng.IntN(len(a.records))]
				t := time.Now()
				e, err := g.Employee(a.ctx, imm)
				lat = append(lat, time.Since(t))
				if err == nil && e.Immatriculation != imm {
					err = fmt.Errorf("gate.Employee: asked %s, got %s", imm, e.Immatriculation)
				}
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					if errs >= maxErrors {
						break
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			w.add(lat, errs, first)
		})
	}
	wg.Wait()
	w.elapsed = time.Since(start)
	return w, ctx.Err()
}

// immatriculationsByAgency maps each agency (ADHERENTS.csv's agence) to the immatriculations of its
// employers' staff whose employment is validated (SALARIES.csv's affiliation_employeur, etat_demande), normalized.
func immatriculationsByAgency(adh, sal string) (map[string][]string, error) {
	agencyOf := map[string]string{}
	if err := eachRow(adh, []string{"affiliation", "agence"}, func(v []string) error {
		agencyOf[v[0]] = v[1]
		return nil
	}); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	seen := map[string]bool{}
	if err := eachRow(sal, []string{"immatriculation", "affiliation_employeur", "etat_demande"}, func(v []string) error {
		a, ok := agencyOf[v[1]]
		if v[0] == "" || !ok || v[2] != amane.EmploymentValidated { // only a validated employment is in an agent's scope
			return nil
		}
		imm, err := ids.ParseImmatriculation(v[0])
		if err != nil {
			return err
		}
		if !seen[imm] {
			seen[imm] = true
			out[a] = append(out[a], imm)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no insured person with an agency in " + sal)
	}
	return out, nil
}

// eachRow calls fn with the named columns of each data row of a CSV file with a header.
func eachRow(path string, cols []string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = slices.Index(head, c); idx[i] < 0 {
			return fmt.Errorf("%s: no column %q", path, c)
		}
	}
	v := make([]string, len(cols))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, k := range idx {
			v[i] = rec[k]
		}
		if err := fn(v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}
