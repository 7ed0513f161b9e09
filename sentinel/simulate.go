package sentinel

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"amane"
)

// Attack profiles understood by Simulate.
//
// The steady profiles read all day, every working day, inside their own agency and in office hours, in
// place of their honest work from the attack's start: "patient" (Accounts agents at Rate times the
// larger of their own usual and their peers' daily distinct records — several times both), "case-forger" (the same reads, each under a purpose that changes, as an
// agent covering them with cases it opens itself would; the events carry no case, so it is contained by
// behaviour alone) and "under-thresholds" (Accounts agents reading, evenly over office hours, just under
// every fixed volume threshold of the Config that suspends — the relative ones, baseline and sustained,
// depend on peers it does not see).
var Profiles = []string{"none", "cnss-2024", "spread", "integration-dump", "employer-probe", "curious-insider",
	"patient", "under-thresholds", "case-forger"}

// steady reports whether profile is one of the steady profiles.
func steady(profile string) bool {
	return profile == "patient" || profile == "under-thresholds" || profile == "case-forger"
}

// honestDistinct is the share of an honest agent's simulated events that reach a record not read
// earlier the same day (measured over 30 days, 300 agents, 20,000 employers: 0.85).
const honestDistinct = 0.85

// SimConfig sizes a simulation. It is deterministic: the same config gives the same events.
type SimConfig struct {
	Days      int
	Agents    int
	Employers int
	Attack    string
	Seed      uint64
	Start     time.Time // a Monday; zero means 2024-11-04, when the 2024 extraction began
	// Steady profiles: how many accounts (zero: 10) and, for patient and case-forger, at how many times
	// the larger of their own usual and their peers' daily distinct records (zero: 5).
	Accounts int
	Rate     float64
	// Config is what under-thresholds reads under; nil means DefaultConfig.
	Config *Config
}

// UnderThresholds is the number of distinct records a day, read evenly over 8 office hours, that stays
// just under every fixed volume threshold of c that suspends: for a window of a day or more, one under
// its suspension spread over the window's days; for a shorter window, one under it per window of the
// office day. 0 when no such threshold is set.
func UnderThresholds(c Config) int {
	best := 0.0
	for _, r := range c.Volume {
		if r.Suspend <= 0 {
			continue
		}
		w := time.Duration(r.Window)
		var daily float64
		if w >= 24*time.Hour {
			daily = (r.Suspend - 1) * float64(24*time.Hour) / float64(w)
		} else {
			daily = (r.Suspend - 1) * float64(8*time.Hour) / float64(w)
		}
		if best == 0 || daily < best {
			best = daily
		}
	}
	return int(best)
}

// Truth is what the simulation knows and the detector does not: who attacks, from when, and the canaries.
type Truth struct {
	Profile     string
	Attackers   []string
	AttackStart time.Time
	Canaries    []string
}

var agencyNames = []string{"CASA-ANFA", "CASA-MAARIF", "CASA-SIDI-MAAROUF", "CASA-AIN-SEBAA", "RABAT-AGDAL",
	"RABAT-HASSAN", "SALE-TABRIQUET", "KENITRA", "TANGER-MEDINA", "TANGER-MGHOGHA", "TETOUAN", "FES-SAISS",
	"FES-MEDINA", "MEKNES", "OUJDA", "NADOR", "MARRAKECH-GUELIZ", "MARRAKECH-MENARA", "AGADIR", "SAFI",
	"EL-JADIDA", "BENI-MELLAL", "LAAYOUNE", "MOHAMMEDIA"}

type simEmployer struct {
	id     uint64
	agency int
	staff  []int // employee indexes
}

type simRegistry struct {
	agencies  []string
	employers []simEmployer
	empID     []uint64
	empEmp    []int32 // employee -> employer
	canary    []bool
	byAgency  [][]int // honest-readable employees per agency
	canaryOf  [][]int // canary employees per agency
}

func (r *simRegistry) empRef(i int) string { return fmt.Sprintf("emp-%08d", r.empID[i]) }
func (r *simRegistry) affRef(i int) string { return fmt.Sprintf("aff-%07d", r.employers[i].id) }
func (r *simRegistry) empAgency(i int) string {
	return r.agencies[r.employers[r.empEmp[i]].agency]
}

// Simulate generates legitimate traffic and one attack, day by day in time order.
func Simulate(cfg SimConfig) (iter.Seq[Event], Truth, error) {
	if !oneOf(cfg.Attack, Profiles...) {
		return nil, Truth{}, fmt.Errorf("attack: %q is not one of %v", cfg.Attack, Profiles)
	}
	if cfg.Days < 1 || cfg.Agents < 3 || cfg.Employers < 10 {
		return nil, Truth{}, fmt.Errorf("need at least 1 day, 3 agents and 10 employers")
	}
	if cfg.Accounts < 0 || cfg.Rate < 0 {
		return nil, Truth{}, fmt.Errorf("accounts and rate must not be negative")
	}
	if cfg.Accounts == 0 {
		cfg.Accounts = 10
	}
	if cfg.Rate == 0 {
		cfg.Rate = 5
	}
	underDaily := 0
	if cfg.Attack == "under-thresholds" {
		c := DefaultConfig()
		if cfg.Config != nil {
			c = *cfg.Config
		}
		if underDaily = UnderThresholds(c); underDaily == 0 {
			return nil, Truth{}, fmt.Errorf("under-thresholds: the configuration has no volume threshold that suspends")
		}
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	nAg := min(max(cfg.Agents/12, 3), len(agencyNames))
	reg := &simRegistry{agencies: agencyNames[:nAg], byAgency: make([][]int, nAg), canaryOf: make([][]int, nAg)}
	nCanary := max(10, cfg.Employers/200)
	affID, empID := uint64(1000000), uint64(10000000)
	for i := 0; i < cfg.Employers; i++ {
		affID += 1 + rng.Uint64N(7)
		reg.employers = append(reg.employers, simEmployer{id: affID, agency: rng.IntN(nAg)})
		size := 1 + int(rng.ExpFloat64()*9)
		for range min(size, 2000) {
			empID += 1 + rng.Uint64N(5)
			k := len(reg.empID)
			reg.empID = append(reg.empID, empID)
			reg.empEmp = append(reg.empEmp, int32(i))
			reg.canary = append(reg.canary, false)
			reg.employers[i].staff = append(reg.employers[i].staff, k)
		}
	}
	// Canaries: invented insured people with ids among the real ones, never read by honest traffic.
	truth := Truth{Profile: cfg.Attack}
	for len(truth.Canaries) < nCanary {
		k := rng.IntN(len(reg.empID))
		if !reg.canary[k] {
			reg.canary[k] = true
			truth.Canaries = append(truth.Canaries, reg.empRef(k))
		}
	}
	for k := range reg.empID {
		a := reg.employers[reg.empEmp[k]].agency
		if reg.canary[k] {
			reg.canaryOf[a] = append(reg.canaryOf[a], k)
		} else {
			reg.byAgency[a] = append(reg.byAgency[a], k)
		}
	}
	agentHome := make([]int, cfg.Agents)
	agentRate := make([]float64, cfg.Agents)
	for i := range agentHome {
		agentHome[i] = i % nAg
		agentRate[i] = 40 + rng.Float64()*60
	}
	agentName := func(i int) string { return fmt.Sprintf("agent-%04d", i) }

	// The attack starts once a third of the period has passed, on a working day.
	a0 := cfg.Days / 3
	for a0 < cfg.Days-1 && isWeekend(cfg.Start.AddDate(0, 0, a0)) {
		a0++
	}
	truth.AttackStart = cfg.Start.AddDate(0, 0, a0)
	attackDays := min(42, cfg.Days-a0)
	var attackers []int
	probeEmployer := -1
	switch cfg.Attack {
	case "cnss-2024", "curious-insider":
		attackers = []int{rng.IntN(cfg.Agents)}
	case "spread":
		attackers = rng.Perm(cfg.Agents)[:min(20, cfg.Agents/3)]
	case "integration-dump":
		truth.Attackers = []string{"integration-7f3a"}
	case "patient", "under-thresholds", "case-forger":
		attackers = rng.Perm(cfg.Agents)[:min(cfg.Accounts, cfg.Agents/3)]
	case "employer-probe":
		probeEmployer = rng.IntN(cfg.Employers)
		truth.Attackers = []string{"empuser-" + reg.affRef(probeEmployer)[4:]}
	}
	for _, a := range attackers {
		truth.Attackers = append(truth.Attackers, agentName(a))
	}
	attackSeed := rng.Uint64()
	// The steady attackers' peers: the mean daily rate of the honest agents of each agency.
	steadyAttacker := map[int]bool{}
	if steady(cfg.Attack) {
		for _, a := range attackers {
			steadyAttacker[a] = true
		}
	}
	peerRate := make([]float64, nAg)
	peerN := make([]int, nAg)
	for i := range cfg.Agents {
		if !steadyAttacker[i] {
			peerRate[agentHome[i]] += agentRate[i]
			peerN[agentHome[i]]++
		}
	}
	for a := range peerRate {
		peerRate[a] /= float64(max(peerN[a], 1))
	}

	seq := func(yield func(Event) bool) {
		rng := rand.New(rand.NewPCG(cfg.Seed+1, attackSeed))
		purposes := []string{"dossier", "prestation", "controle", "reclamation"}
		dumpNext := 0
		recent := make([][]int, cfg.Agents)
		for d := 0; d < cfg.Days; d++ {
			date := cfg.Start.AddDate(0, 0, d)
			working := !isWeekend(date)
			peak := 1.0
			if date.Day() <= 10 {
				peak = 1.5 // the monthly declaration peak
			}
			var evs []Event
			at := func(from, to float64) time.Time { // hours of the day
				return date.Add(time.Duration((from + rng.Float64()*(to-from)) * float64(time.Hour))).Truncate(time.Second)
			}
			outcome := func(p float64) amane.Outcome {
				if rng.Float64() < p {
					return amane.OutcomeDenied
				}
				return amane.OutcomeAllowed
			}
			workTime := func() time.Time {
				if rng.Float64() < 0.03 {
					if rng.IntN(2) == 0 {
						return at(7, 8.5)
					}
					return at(16.5, 19)
				}
				return at(8.5, 16.5)
			}
			attacking := d >= a0 && d < a0+attackDays
			if working {
				for i := range cfg.Agents {
					if attacking && steadyAttacker[i] {
						continue // its attack replaces its honest work
					}
					n := int(agentRate[i] * peak * (0.7 + 0.6*rng.Float64()))
					home := agentHome[i]
					for range n {
						var k int
						switch r := rng.Float64(); {
						case r < 0.2 && len(recent[i]) > 0:
							k = recent[i][rng.IntN(len(recent[i]))]
						case r < 0.25:
							a := rng.IntN(nAg)
							k = reg.byAgency[a][rng.IntN(len(reg.byAgency[a]))]
						default:
							k = reg.byAgency[home][rng.IntN(len(reg.byAgency[home]))]
						}
						recent[i] = append(recent[i], k)
						if len(recent[i]) > 20 {
							recent[i] = recent[i][1:]
						}
						rec := reg.empRef(k)
						if rng.Float64() < 0.2 {
							rec = reg.affRef(int(reg.empEmp[k]))
						}
						action := amane.ActionRead
						switch r := rng.Float64(); {
						case r < 0.10:
							action = amane.ActionSearch
						case r < 0.13:
							action = amane.ActionExport
						case r < 0.15:
							action = amane.ActionWrite
						}
						evs = append(evs, Event{Time: workTime(), Principal: agentName(i), Role: "agent",
							Home: reg.agencies[home], Action: action, Record: rec, RecordHome: reg.empAgency(k),
							Purpose: purposes[rng.IntN(len(purposes))], Outcome: outcome(0.001)})
					}
				}
				visit := 0.15 * peak
				for i := range reg.employers {
					if rng.Float64() >= visit {
						continue
					}
					em := &reg.employers[i]
					aff := reg.affRef(i)
					for range 1 + rng.IntN(5) {
						rec := aff
						if k := em.staff[rng.IntN(len(em.staff))]; !reg.canary[k] && rng.IntN(4) > 0 {
							rec = reg.empRef(k)
						}
						evs = append(evs, Event{Time: at(8, 18), Principal: "empuser-" + aff[4:], Role: "employer",
							Home: aff, Action: "read", Record: rec, RecordHome: aff, Purpose: "dossier", Outcome: outcome(0.001)})
					}
				}
			}
			for range len(reg.empID) / 100 {
				k := rng.IntN(len(reg.empID))
				if reg.canary[k] {
					continue
				}
				ref := reg.empRef(k)
				evs = append(evs, Event{Time: at(7, 23), Principal: "insured-" + ref[4:], Role: "insured", Home: ref,
					Action: "read", Record: ref, RecordHome: ref, Purpose: "droits", Outcome: "allowed"})
			}
			// The nightly attestation batch: attest, not read.
			for i := 0; i < len(reg.employers); i += 20 {
				evs = append(evs, Event{Time: date.Add(time.Hour + time.Duration(i)*time.Second/10), Principal: "system-attest",
					Role: "system", Home: "SYSTEM", Action: "attest", Record: reg.affRef(i),
					RecordHome: reg.agencies[reg.employers[i].agency], Purpose: "attestation", Outcome: "allowed"})
			}

			// The attack.
			if attacking {
				switch cfg.Attack {
				case "patient", "case-forger", "under-thresholds":
					if !working {
						break
					}
					for _, a := range attackers {
						home := agentHome[a]
						n := underDaily
						if cfg.Attack != "under-thresholds" {
							n = int(cfg.Rate*max(agentRate[a], peerRate[home])*peak*honestDistinct + 0.5)
						}
						for j := range n {
							k := reg.byAgency[home][rng.IntN(len(reg.byAgency[home]))]
							t := at(8.5, 16.5)
							purpose := "dossier"
							if cfg.Attack == "under-thresholds" { // evenly spread, so that no short window fills
								t = date.Add(8*time.Hour + 30*time.Minute + time.Duration(j)*8*time.Hour/time.Duration(n)).Truncate(time.Second)
							}
							if cfg.Attack == "case-forger" {
								purpose = purposes[j%len(purposes)]
							}
							evs = append(evs, Event{Time: t, Principal: agentName(a), Role: "agent",
								Home: reg.agencies[home], Action: "read", Record: reg.empRef(k),
								RecordHome: reg.empAgency(k), Purpose: purpose, Outcome: "allowed"})
						}
					}
				case "cnss-2024", "spread":
					if !working {
						break
					}
					per := 57000 / len(attackers)
					for _, a := range attackers {
						for range per {
							k := rng.IntN(len(reg.empID))
							evs = append(evs, Event{Time: at(8.5, 16.5), Principal: agentName(a), Role: "agent",
								Home: reg.agencies[agentHome[a]], Action: "read", Record: reg.empRef(k),
								RecordHome: reg.empAgency(k), Purpose: "dossier", Outcome: "allowed"})
						}
					}
				case "integration-dump":
					// Pages of 100 records, one page every 2 s, walking the registry in id order.
					t := date.Add(time.Hour)
					for i := 0; i < 200000 && dumpNext < len(reg.empID); i++ {
						k := dumpNext
						dumpNext++
						evs = append(evs, Event{Time: t.Add(time.Duration(i/100) * 2 * time.Second), Principal: truth.Attackers[0],
							Role: "integration", Home: "INTEGRATION", Action: "read", Record: reg.empRef(k),
							RecordHome: reg.empAgency(k), Purpose: "integration", Outcome: "allowed"})
					}
				case "employer-probe":
					if !working {
						break
					}
					home := reg.affRef(probeEmployer)
					t := date.Add(10 * time.Hour)
					for range 200 {
						t = t.Add(time.Duration(30+rng.IntN(90)) * time.Second)
						o := rng.IntN(len(reg.employers))
						evs = append(evs, Event{Time: t, Principal: truth.Attackers[0], Role: "employer", Home: home,
							Action: "read", Record: reg.affRef(o), RecordHome: reg.affRef(o), Purpose: "dossier",
							Outcome: outcome(0.9)})
					}
				case "curious-insider":
					if !working {
						break
					}
					a := attackers[0]
					for j := range 3 + rng.IntN(3) {
						o := (agentHome[a] + 1 + rng.IntN(nAg-1)) % nAg
						var k int
						if (d == a0 && j == 1) || rng.Float64() < 0.25 {
							if len(reg.canaryOf[o]) == 0 {
								continue
							}
							k = reg.canaryOf[o][rng.IntN(len(reg.canaryOf[o]))]
						} else {
							k = reg.byAgency[o][rng.IntN(len(reg.byAgency[o]))]
						}
						evs = append(evs, Event{Time: at(9, 16).Add(time.Duration(j) * time.Minute), Principal: agentName(a),
							Role: "agent", Home: reg.agencies[agentHome[a]], Action: "read", Record: reg.empRef(k),
							RecordHome: reg.empAgency(k), Purpose: "dossier", Outcome: "allowed"})
					}
				}
			}
			slices.SortStableFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) })
			for _, e := range evs {
				if !yield(e) {
					return
				}
			}
		}
	}
	return seq, truth, nil
}

func isWeekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// Report is what a replay of a simulation measured.
type Report struct {
	Profile             string           `json:"profile"`
	Events              int              `json:"events"`
	Responses           map[string]int   `json:"responses"`
	Attackers           []AttackerReport `json:"attackers"`
	CampaignFlagged     bool             `json:"campaign_flagged"`
	LegitPrincipalDays  int              `json:"legit_principal_days"`
	FalseAlerts         int              `json:"false_alerts"`
	FalseContainments   int              `json:"false_containments"` // throttle, step_up or suspend of an honest principal
	FalseAlertsPer1000  float64          `json:"false_alerts_per_1000_principal_days"`
	FalseContainPer1000 float64          `json:"false_containments_per_1000_principal_days"`
}

// AttackerReport measures one attacking principal from the attack's start. Containment is suspension.
type AttackerReport struct {
	Principal                string   `json:"principal"`
	RecordsBeforeAlert       int      `json:"records_before_alert"`
	RecordsBeforeContainment int      `json:"records_before_containment"`
	ProbesBeforeContainment  int      `json:"probes_before_containment"`
	SecondsToFirstAlert      *float64 `json:"seconds_to_first_alert"`
	SecondsToContainment     *float64 `json:"seconds_to_containment"`
	Contained                bool     `json:"contained"`
	EventsContained          int      `json:"events_contained"`
	FirstAlertSignal         string   `json:"first_alert_signal,omitempty"`
	TouchedCanary            bool     `json:"touched_canary"`
	AlertedAtFirstCanary     bool     `json:"alerted_at_first_canary"`
}

// Evaluate replays events through d and measures them against the truth. each, if not nil, sees every
// event (to write them out).
func Evaluate(events iter.Seq[Event], truth Truth, d *Detector, each func(Event)) Report {
	rep := Report{Profile: truth.Profile, Responses: map[string]int{}}
	type att struct {
		AttackerReport
		records    map[string]struct{}
		alerted    bool
		canarySeen bool
	}
	atts := map[string]*att{}
	for _, p := range truth.Attackers {
		atts[p] = &att{AttackerReport: AttackerReport{Principal: p}, records: map[string]struct{}{}}
	}
	canary := map[string]bool{}
	for _, c := range truth.Canaries {
		canary[c] = true
	}
	lastDay := map[string]int64{}
	secs := func(t time.Time) *float64 { v := t.Sub(truth.AttackStart).Seconds(); return &v }
	for e := range events {
		rep.Events++
		if each != nil {
			each(e)
		}
		a := atts[e.Principal]
		attacking := a != nil && !e.Time.Before(truth.AttackStart)
		if a == nil {
			if day := floorDiv(e.Time.Unix(), 86400); lastDay[e.Principal] != day+1 {
				lastDay[e.Principal] = day + 1
				rep.LegitPrincipalDays++
			}
		}
		firstCanary := false
		if attacking && !d.Suspended(e.Principal) {
			a.ProbesBeforeContainment++
			if e.Outcome == amane.OutcomeAllowed && e.Record != "" && e.Action != amane.ActionWrite && e.Action != amane.ActionAttest {
				a.records[e.Record] = struct{}{}
			}
			if canary[e.Record] && !a.canarySeen {
				a.canarySeen, a.TouchedCanary, firstCanary = true, true, true
			}
		}
		for _, r := range d.Observe(e) {
			rep.Responses[r.Response]++
			if r.Signal == "campaign" {
				names, _ := r.Evidence["principals"].([]string)
				hit := false
				for _, n := range names {
					hit = hit || atts[n] != nil
				}
				if hit {
					rep.CampaignFlagged = true
				} else {
					rep.FalseAlerts++
				}
				continue
			}
			if a == nil {
				if r.Response == Alert {
					rep.FalseAlerts++
				} else {
					rep.FalseContainments++
				}
				continue
			}
			if !attacking {
				continue
			}
			if r.Response == Alert && !a.alerted {
				a.alerted = true
				a.RecordsBeforeAlert = len(a.records)
				a.SecondsToFirstAlert = secs(e.Time)
				a.FirstAlertSignal = r.Signal
			}
			if r.Response == Suspend {
				a.Contained = true
				a.RecordsBeforeContainment = len(a.records)
				a.SecondsToContainment = secs(e.Time)
			}
		}
		if firstCanary {
			a.AlertedAtFirstCanary = a.alerted
		}
	}
	for _, p := range truth.Attackers {
		a := atts[p]
		if !a.Contained {
			a.RecordsBeforeContainment = len(a.records)
		}
		a.EventsContained = d.Contained(p)
		rep.Attackers = append(rep.Attackers, a.AttackerReport)
	}
	slices.SortFunc(rep.Attackers, func(x, y AttackerReport) int { return cmp.Compare(x.Principal, y.Principal) })
	if rep.LegitPrincipalDays > 0 {
		k := 1000 / float64(rep.LegitPrincipalDays)
		rep.FalseAlertsPer1000 = math.Round(float64(rep.FalseAlerts)*k*1000) / 1000
		rep.FalseContainPer1000 = math.Round(float64(rep.FalseContainments)*k*1000) / 1000
	}
	return rep
}
