package sentinel

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"amane"
)

// Detector holds per-principal state and turns events into responses. It is not safe for concurrent use:
// a live feed serialises events into it, as a replay does.
type Detector struct {
	cfg        Config
	canaries   map[string]bool
	principals map[string]*principal
	groups     map[string]*group
	retention  time.Duration // the longest volume window: how long a record stays in lastSeen

	recent         []campaignHit
	campaignActive bool

	// held are levels imposed from outside the event stream (Hold): a suspension restored after a
	// restart, kept until Lift.
	held map[string]int
}

type campaignHit struct {
	t         time.Time
	principal string
	role      string
}

// group is the peers of a principal: same role, same home. sum/n is the mean daily figure of its members
// that have a baseline.
type group struct {
	sum float64
	n   int
	// rsum/rn: the same over the members' sustained references (days capped at Slack × ref), for the
	// sustained signal.
	rsum float64
	rn   int
	// The members' days against their own references on the last day they closed (cur, of curDay)
	// and the one before with enough of them (prev): today's activity of the peers, for the sustained
	// signal (a declaration peak raises every member's day).
	curDay    int64
	cur, prev []float64
}

// record notes a member's closed day against its own mean (how busy the day was for it).
func (g *group) record(day int64, ratio float64) {
	switch {
	case day > g.curDay:
		if len(g.cur) >= 3 {
			g.prev = g.cur
		}
		g.cur, g.curDay = []float64{ratio}, day
	case day == g.curDay:
		g.cur = append(g.cur, ratio)
	}
}

// activity is the median of the peers' last closed days against their own means, within [0.5, 2]; 1
// with fewer than three of them.
func (g *group) activity() float64 {
	r := g.prev
	if len(g.cur) >= 3 && len(g.cur)*2 >= len(g.prev) {
		r = g.cur
	}
	if len(r) < 3 {
		return 1
	}
	r = slices.Clone(r)
	slices.Sort(r)
	m := r[len(r)/2]
	if len(r)%2 == 0 {
		m = (m + r[len(r)/2-1]) / 2
	}
	return min(max(m, 0.5), 2)
}

type principal struct {
	id, role, home string
	grp            *group
	suspended      bool
	contained      int // events after suspension

	lastSeen map[string]int64 // record -> time (ns) of last read
	volume   []distinctWindow
	denied   []countWindow

	day        int64 // current UTC day number
	today      map[string]struct{}
	outside    map[string]struct{}
	offHours   map[string]struct{}
	exports    map[string]struct{} // records exported or attested today, whatever the purpose
	todayHours [24]int
	hours      [24]int // reads per hour over closed days
	hoursTotal int
	activeDays int
	dailySum   float64
	baseline   float64 // mean distinct records per active day
	inGroup    bool
	enumPrefix string
	enumLast   uint64
	enumRun    int
	sample     []string // the last few records read, for evidence

	// Sustained excess: the CUSUM over closed active days, and the principal's own reference (days
	// folded in capped at Slack × ref, so that excess does not raise it).
	cusum    float64
	refSum   float64
	refDays  int
	inRefGrp bool
	// afterStepUp: distinct records read while a step-up stands (nil when none stands).
	afterStepUp map[string]struct{}
	// activity: the peers' activity when the principal's day began (group.activity), which scales its
	// reference for the whole day.
	activity    float64
	levels      map[string]int
	firstSignal map[string]time.Time
}

type entry struct {
	t   int64
	rec string
}

// distinctWindow counts distinct records whose last read is within the window: a read enters the queue;
// when it leaves, it is uncounted only if the record was not read again since (lastSeen still equals it).
type distinctWindow struct {
	w     int64
	q     []entry
	head  int
	count int
}

type countWindow struct {
	w    int64
	q    []int64
	head int
}

func (c *countWindow) add(t int64) int {
	for c.head < len(c.q) && c.q[c.head] <= t-c.w {
		c.head++
	}
	c.q = append(c.q, t)
	if c.head > 1024 && c.head*2 > len(c.q) {
		c.q = append(c.q[:0], c.q[c.head:]...)
		c.head = 0
	}
	return len(c.q) - c.head
}

// New returns a detector with cfg's thresholds that knows the canary record references.
func New(cfg Config, canaries []string) *Detector {
	d := &Detector{cfg: cfg, canaries: map[string]bool{}, principals: map[string]*principal{}, groups: map[string]*group{}, held: map[string]int{}}
	for _, c := range canaries {
		d.canaries[c] = true
	}
	for _, r := range cfg.Volume {
		d.retention = max(d.retention, time.Duration(r.Window))
	}
	return d
}

// Suspended reports whether the principal is suspended.
func (d *Detector) Suspended(principal string) bool {
	return d.level(principal) == 4
}

// Standing is the strongest response in force for the principal: "" (none), Alert, Throttle, StepUp or
// Suspend. Responses stay in force until the signal relaxes or a security officer lifts them.
func (d *Detector) Standing(principal string) string {
	return levelNames[d.level(principal)]
}

func (d *Detector) level(principal string) int {
	lv := d.held[principal]
	if p := d.principals[principal]; p != nil {
		if p.suspended {
			return 4
		}
		for _, l := range p.levels {
			lv = max(lv, l)
		}
	}
	return lv
}

// Hold imposes a response on a principal from outside the event stream — a suspension the store
// remembers across a restart — until Lift.
func (d *Detector) Hold(principal, response string) {
	for lv, name := range levelNames {
		if lv > 0 && name == response {
			d.held[principal] = max(d.held[principal], lv)
		}
	}
}

// Contained is the number of the principal's events that arrived after its suspension.
func (d *Detector) Contained(principal string) int {
	if p := d.principals[principal]; p != nil {
		return p.contained
	}
	return 0
}

// Lift ends a principal's responses, as a security officer does after review; its signals start afresh.
func (d *Detector) Lift(principal string) {
	if p := d.principals[principal]; p != nil {
		p.suspended = false
		p.levels = map[string]int{}
		p.cusum, p.afterStepUp = 0, nil // the excess was reviewed
	}
	delete(d.held, principal)
}

func (d *Detector) group(role, home string) *group {
	key := role + "\x00" + home
	g := d.groups[key]
	if g == nil {
		g = &group{}
		d.groups[key] = g
	}
	return g
}

func (d *Detector) principal(e Event) *principal {
	p := d.principals[e.Principal]
	if p != nil {
		if e.Home != p.home && e.Home != "" && e.Role == p.role {
			d.move(p, e.Home)
		}
		return p
	}
	g := d.group(e.Role, e.Home)
	p = &principal{id: e.Principal, role: e.Role, home: e.Home, grp: g, lastSeen: map[string]int64{},
		today: map[string]struct{}{}, outside: map[string]struct{}{}, offHours: map[string]struct{}{}, exports: map[string]struct{}{},
		levels: map[string]int{}, day: -1 << 62}
	for _, r := range d.cfg.Volume {
		p.volume = append(p.volume, distinctWindow{w: int64(r.Window)})
	}
	for _, r := range d.cfg.Denied {
		p.denied = append(p.denied, countWindow{w: int64(r.Window)})
	}
	d.principals[e.Principal] = p
	return p
}

// move takes a principal whose home changed (staff moved to another agency) to its new peers: its own
// history goes with it, its share of the old group's means leaves that group.
func (d *Detector) move(p *principal, home string) {
	old, g := p.grp, d.group(p.role, home)
	if p.inGroup {
		old.sum -= p.baseline
		old.n--
		g.sum += p.baseline
		g.n++
	}
	if p.inRefGrp {
		r := p.refSum / float64(p.refDays)
		old.rsum -= r
		old.rn--
		g.rsum += r
		g.rn++
	}
	p.home, p.grp = home, g
}

// sustainedRef is what a day of the principal is measured against: the larger of the floor, its own
// reference (once it has MinDays days) and its peers'; 0 when it has neither (no reference yet).
func (d *Detector) sustainedRef(p *principal) float64 {
	s := d.cfg.Sustained
	ref := 0.0
	if p.grp.rn > 0 {
		ref = p.grp.rsum / float64(p.grp.rn)
	}
	if p.refDays >= max(s.MinDays, 1) {
		ref = max(ref, p.refSum/float64(p.refDays))
	}
	if ref == 0 {
		return 0
	}
	return max(ref, s.Floor)
}

func (d *Detector) sustainedOn() bool {
	s := d.cfg.Sustained
	return s.Slack > 0 && s.Levels != (Levels{})
}

func maxLevel(p *principal) int {
	lv := 0
	for _, l := range p.levels {
		lv = max(lv, l)
	}
	return lv
}

// Observe takes the next event (in time order) and returns the responses it causes, in escalating order.
// A suspended principal's events cause nothing new: they are counted as contained.
func (d *Detector) Observe(e Event) []Response {
	p := d.principal(e)
	if d.held[p.id] == 4 {
		p.suspended = true
	}
	if p.suspended {
		p.contained++
		return nil
	}
	t := e.Time.UnixNano()
	day := floorDiv(e.Time.Unix(), 86400)
	if day != p.day {
		d.closeDay(p)
		p.day = day
		p.activity = p.grp.activity()
	}
	var out []Response
	emit := func(signal string, lv int, ev map[string]any) {
		cur := p.levels[signal]
		if lv <= cur {
			return
		}
		p.levels[signal] = lv
		ev["sample_records"] = append([]string(nil), p.sample...)
		if cur == 0 {
			out = append(out, Response{Time: e.Time, Principal: p.id, Response: Alert, Signal: signal, Evidence: ev})
		}
		if lv > 1 {
			out = append(out, Response{Time: e.Time, Principal: p.id, Response: levelNames[lv], Signal: signal, Evidence: ev})
		}
		if lv == 4 {
			p.suspended = true
		}
	}
	// relax lowers a signal's level once its value falls under half the alert threshold (hysteresis, so a
	// value hovering at a threshold does not alert again and again).
	relax := func(signal string, v float64, l Levels) {
		if p.levels[signal] > 0 && v < l.Alert/2 {
			p.levels[signal] = 0
		}
	}

	// Every record reached, whatever the channel (read, search, export, attest), counts in the same
	// windows: an attestation listing 140 people releases 140 people as a read of them would. (A denied
	// read counts too, as it always did: probing is reaching.) The system principal (the CLI, which holds the keys and opens
	// the vault without the gate) is watched for canaries and denials only: its nightly batch
	// attests thousands of employers and nothing the gate could refuse would stop it.
	//
	// An employer user's own people (granted, record home = its own affiliation) are its payroll: the
	// employer holds them already, and its monthly préétabli, declaration file or nominative
	// attestation lists them all, so counting them would suspend every employer of more than a few
	// hundred people once a month. They stay outside the release signals; what the sentinel watches in
	// an employer account is reaching past them (denials, enumeration, canaries), the only way its
	// scope lets it reach anyone else.
	own := e.Role == "employer" && e.Home != "" && e.RecordHome == e.Home && e.Outcome != amane.OutcomeDenied
	reading := reaches(e) && e.Role != "system" && !own
	steppedUp := reading && d.cfg.AfterStepUp > 0 && maxLevel(p) == 3
	if reading && !slices.Contains(p.sample, e.Record) { // the last few distinct records
		p.sample = append(p.sample, e.Record)
		if len(p.sample) > 5 {
			p.sample = p.sample[1:]
		}
	}

	// Canary: a record no honest principal has a reason to touch. Any action, allowed or denied.
	if e.Record != "" && d.canaries[e.Record] {
		emit("canary", 4, map[string]any{"canary_record": e.Record, "action": string(e.Action), "outcome": string(e.Outcome)})
		return out
	}

	if e.Outcome == amane.OutcomeDenied {
		for i := range p.denied {
			r := d.cfg.Denied[i]
			n := float64(p.denied[i].add(t))
			sig := "denied-" + durName(r.Window)
			relax(sig, n, r.Levels)
			emit(sig, r.level(n), map[string]any{"window": durName(r.Window), "denied_requests": n,
				"threshold": r.Levels})
		}
	}

	if reading {
		last, seen := p.lastSeen[e.Record]
		for i := range p.volume {
			w := &p.volume[i]
			for w.head < len(w.q) && w.q[w.head].t <= t-w.w {
				old := w.q[w.head]
				if p.lastSeen[old.rec] == old.t {
					w.count--
					if w.w == int64(d.retention) {
						delete(p.lastSeen, old.rec)
					}
				}
				w.head++
			}
			if w.head > 1024 && w.head*2 > len(w.q) {
				w.q = append(w.q[:0], w.q[w.head:]...)
				w.head = 0
			}
		}
		last, seen = p.lastSeen[e.Record]
		for i := range p.volume {
			w := &p.volume[i]
			if !seen || last <= t-w.w {
				w.count++
			}
			if !seen || last != t {
				w.q = append(w.q, entry{t, e.Record})
			}
		}
		p.lastSeen[e.Record] = t
		peer := 0.0
		if p.grp.n > 0 {
			peer = p.grp.sum / float64(p.grp.n)
		}
		for i := range p.volume {
			r := d.cfg.Volume[i]
			n := float64(p.volume[i].count)
			sig := "volume-" + durName(r.Window)
			relax(sig, n, r.Levels)
			d.emitTracked(p, e, sig, r.level(n), map[string]any{"window": durName(r.Window), "distinct_records": n,
				"threshold": r.Levels, "own_daily_mean": round1(p.baseline), "peers_daily_mean": round1(peer),
				"peers": p.grp.n}, emit)
		}

		p.today[e.Record] = struct{}{}
		h := e.Time.UTC().Hour()
		p.todayHours[h]++

		// Own history and peers.
		b := d.cfg.Baseline
		ref := peer
		if p.activeDays >= b.MinDays {
			ref = max(ref, p.baseline)
		}
		if n := float64(len(p.today)); ref > 0 && n >= b.Floor {
			ratio := n / ref
			relax("baseline", ratio, b.Levels)
			d.emitTracked(p, e, "baseline", b.level(ratio), map[string]any{"distinct_records_today": n,
				"own_daily_mean": round1(p.baseline), "own_active_days": p.activeDays, "peers_daily_mean": round1(peer),
				"peers": p.grp.n, "ratio": round1(ratio), "threshold": b.Levels}, emit)
		}

		// Sustained excess: the cumulative excess of the closed days plus today's so far.
		if d.sustainedOn() {
			s := d.cfg.Sustained
			if ref := d.sustainedRef(p) * p.activity; ref > 0 {
				n := float64(len(p.today))
				// Only excess that spans days: a day alone is the baseline's and the windows' to judge.
				if v := p.cusum + n/ref - s.Slack; p.cusum > 0 && v >= s.Alert {
					d.emitTracked(p, e, "sustained", s.level(v), map[string]any{"distinct_records_today": n,
						"reference_daily": round1(ref), "own_reference_daily": round1(p.refSum / float64(max(p.refDays, 1))),
						"own_days": p.refDays, "peers": p.grp.rn, "peers_activity": round1(p.activity), "excess_before_today": round1(p.cusum),
						"cumulative_excess": round1(v), "slack": s.Slack, "threshold": s.Levels}, emit)
				}
			}
		}

		// Outside the principal's home (a record whose home the feed does not know is not counted).
		if e.RecordHome != "" && e.RecordHome != e.Home {
			p.outside[e.Record] = struct{}{}
			n := float64(len(p.outside))
			d.emitTracked(p, e, "outside-home", d.cfg.OutsideHome.level(n), map[string]any{"window": "day",
				"distinct_outside_records": n, "distinct_records_today": len(p.today), "threshold": d.cfg.OutsideHome}, emit)

			// Enumeration: outside-home reads walking the registry in increasing id order.
			prefix, num, ok := splitID(e.Record)
			if ok && prefix == p.enumPrefix && num > p.enumLast {
				p.enumRun++
			} else {
				p.enumRun = 1
			}
			p.enumPrefix, p.enumLast = prefix, num
			n = float64(p.enumRun)
			relax("enumeration", n, d.cfg.Enumeration)
			d.emitTracked(p, e, "enumeration", d.cfg.Enumeration.level(n), map[string]any{"ascending_run": n,
				"threshold": d.cfg.Enumeration}, emit)
		}

		// Unusual hours, learned from the principal's closed days.
		o := d.cfg.OffHours
		if p.activeDays >= o.MinDays && p.hoursTotal > 0 && float64(p.hours[h])/float64(p.hoursTotal) < o.MinShare {
			p.offHours[e.Record] = struct{}{}
			n := float64(len(p.offHours))
			emit("off-hours", o.level(n), map[string]any{"hour_utc": h, "distinct_records_off_hours_today": n,
				"usual_share_of_hour": round1(100*float64(p.hours[h])/float64(p.hoursTotal)) / 100, "threshold": o.Levels})
		}
	}

	// Exports and attestations: distinct records exported or attested today, all purposes together —
	// stating another purpose opens no new allowance. The thresholds are the event's purpose's if the
	// configuration names it, else "*".
	if reading && e.Outcome == amane.OutcomeAllowed && (e.Action == amane.ActionExport || e.Action == amane.ActionAttest) {
		l, ok := d.cfg.Exports[e.Purpose]
		if !ok {
			l = d.cfg.Exports["*"]
		}
		p.exports[e.Record] = struct{}{}
		n := float64(len(p.exports))
		d.emitTracked(p, e, "exports", l.level(n), map[string]any{"window": "day", "purpose": e.Purpose,
			"distinct_records_exported_or_attested": n, "threshold": l}, emit)
	}

	// Reading on after a step-up: the step-up did not stop the principal.
	if steppedUp && !p.suspended {
		if p.afterStepUp == nil {
			p.afterStepUp = map[string]struct{}{}
		}
		p.afterStepUp[e.Record] = struct{}{}
		if n := len(p.afterStepUp); n >= d.cfg.AfterStepUp {
			emit("after-step-up", 4, map[string]any{"distinct_records_after_step_up": float64(n), "threshold": d.cfg.AfterStepUp})
		}
	}
	if p.afterStepUp != nil && maxLevel(p) < 3 {
		p.afterStepUp = nil
	}

	if c := d.campaign(e, out); c != nil {
		out = append(out, *c)
	}
	return out
}

// emitTracked emits and remembers extraction alerts for campaign grouping.
func (d *Detector) emitTracked(p *principal, e Event, signal string, lv int, ev map[string]any, emit func(string, int, map[string]any)) {
	if lv > p.levels[signal] && p.levels[signal] == 0 {
		d.recent = append(d.recent, campaignHit{e.Time, p.id, p.role})
	}
	emit(signal, lv, ev)
}

// campaign flags several principals alerted on extraction signals within the window as one campaign,
// once per burst: the flag rearms when the window empties.
func (d *Detector) campaign(e Event, out []Response) *Response {
	c := d.cfg.Campaign
	if c.Principals <= 0 || c.Window <= 0 {
		return nil
	}
	i := 0
	for i < len(d.recent) && e.Time.Sub(d.recent[i].t) > time.Duration(c.Window) {
		i++
	}
	d.recent = d.recent[i:]
	if len(d.recent) == 0 {
		d.campaignActive = false
		return nil
	}
	set := map[string]bool{}
	for _, h := range d.recent {
		set[h.principal] = true
	}
	if len(set) < c.Principals || d.campaignActive {
		return nil
	}
	d.campaignActive = true
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return &Response{Time: e.Time, Principal: "campaign", Response: Alert, Signal: "campaign",
		Evidence: map[string]any{"window": durName(c.Window), "principals": names, "count": len(names)}}
}

// closeDay folds the principal's finished day into its history, and its peers'.
func (d *Detector) closeDay(p *principal) {
	if n := len(p.today); n > 0 && d.sustainedOn() {
		s := d.cfg.Sustained
		x := float64(n)
		if p.refDays >= max(s.MinDays, 1) && p.refSum > 0 { // how busy the day was for this member
			p.grp.record(p.day, x/(p.refSum/float64(p.refDays)))
		}
		if ref := d.sustainedRef(p); ref > 0 {
			ref *= p.activity
			p.cusum = max(0, p.cusum+x/ref-s.Slack)
			x = min(x, s.Slack*ref)
		}
		old := 0.0
		if p.refDays > 0 {
			old = p.refSum / float64(p.refDays)
		}
		p.refSum += x
		p.refDays++
		if p.refDays >= max(s.MinDays, 1) {
			if !p.inRefGrp {
				p.inRefGrp = true
				p.grp.rn++
				old = 0
			}
			p.grp.rsum += p.refSum/float64(p.refDays) - old
		}
		if p.levels["sustained"] > 0 && p.cusum < s.Alert/2 {
			delete(p.levels, "sustained")
		}
	}
	if n := len(p.today); n > 0 {
		p.activeDays++
		p.dailySum += float64(n)
		old := p.baseline
		p.baseline = p.dailySum / float64(p.activeDays)
		if p.activeDays >= d.cfg.Baseline.MinDays {
			if !p.inGroup {
				p.inGroup = true
				p.grp.n++
				old = 0
			}
			p.grp.sum += p.baseline - old
		}
		for h, c := range p.todayHours {
			p.hours[h] += c
			p.hoursTotal += c
		}
	}
	clear(p.today)
	clear(p.outside)
	clear(p.offHours)
	clear(p.exports)
	p.todayHours = [24]int{}
	for _, s := range []string{"baseline", "outside-home", "off-hours", "exports"} {
		delete(p.levels, s)
	}
}

// reaches reports whether an event is an access to a record by a channel that shows it (read, search,
// export, attest). Writes show nothing the principal did not send.
func reaches(e Event) bool {
	return e.Record != "" && (e.Action == amane.ActionRead || e.Action == amane.ActionSearch || e.Action == amane.ActionExport || e.Action == amane.ActionAttest)
}

// splitID splits "emp-88120394" into "emp-" and 88120394.
func splitID(s string) (string, uint64, bool) {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) + 1
	if i >= len(s) {
		return s, 0, false
	}
	n, err := strconv.ParseUint(s[i:], 10, 64)
	return s[:i], n, err == nil
}

func durName(d Duration) string {
	v := time.Duration(d)
	switch {
	case v%(24*time.Hour) == 0:
		return strconv.Itoa(int(v/(24*time.Hour))) + "d"
	case v%time.Hour == 0:
		return strconv.Itoa(int(v/time.Hour)) + "h"
	case v%time.Minute == 0:
		return strconv.Itoa(int(v/time.Minute)) + "m"
	}
	return v.String()
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
