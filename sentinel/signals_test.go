package sentinel_test

import (
	"fmt"
	"testing"
	"time"

	"amane/sentinel"
)

// One test per signal of the detector, each against DefaultConfig: the smallest event sequence that
// reaches the signal's alert threshold raises exactly that alert on its last event, and the same
// sequence one event shorter raises nothing. (The canary is TestCanary; exports beyond the alert are
// TestExportsAgainstPurpose; a release refused before it happens is TestAdmitRelease.)

var signalDay = time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC)

// agentRead is an allowed read by agent-1 (home CASA-ANFA) of record, whose home is recordHome.
func agentRead(at time.Time, record, recordHome string) sentinel.Event {
	return sentinel.Event{Time: at, Principal: "agent-1", Role: "agent", Home: "CASA-ANFA", Action: "read",
		Record: record, RecordHome: recordHome, Purpose: "dossier", Outcome: "allowed"}
}

// history is a sequence of events that must not draw any response, followed by the n events under
// test; feed replays history then the first k of those.
type signalCase struct {
	history []sentinel.Event
	events  func(i int) sentinel.Event
	n       int // the alert threshold: the n-th event fires
}

// feed runs history and the first k events of c through a fresh detector and returns the responses
// drawn by the history and by the last event, the others failing the test.
func (c signalCase) feed(t *testing.T, k int) (last []sentinel.Response) {
	t.Helper()
	d := sentinel.New(sentinel.DefaultConfig(), nil)
	for i, e := range c.history {
		if rs := d.Observe(e); len(rs) != 0 {
			t.Fatalf("history event %d drew %+v", i, rs)
		}
	}
	for i := range k {
		rs := d.Observe(c.events(i))
		if i == k-1 {
			return rs
		}
		if len(rs) != 0 {
			t.Fatalf("event %d of %d drew %+v", i+1, k, rs)
		}
	}
	return nil
}

// check asserts that the n-th event raises one alert on signal, whose evidence holds key = n, and
// that n-1 events raise nothing.
func (c signalCase) check(t *testing.T, signal, key string) {
	t.Helper()
	t.Run("OK", func(t *testing.T) {
		rs := c.feed(t, c.n)
		if len(rs) != 1 || rs[0].Signal != signal || rs[0].Response != sentinel.Alert || rs[0].Principal == "" {
			t.Fatalf("event %d drew %+v, want one %s alert on %s", c.n, rs, sentinel.Alert, signal)
		}
		if key != "" && rs[0].Evidence[key] != float64(c.n) {
			t.Errorf("evidence %s = %v, want %d", key, rs[0].Evidence[key], c.n)
		}
	})
	t.Run("UnderThreshold", func(t *testing.T) {
		if rs := c.feed(t, c.n-1); len(rs) != 0 {
			t.Fatalf("%d events drew %+v", c.n-1, rs)
		}
	})
}

// TestSignalVolume: distinct records over each sliding window (60 in 10 minutes, 120 in an hour, 400 in
// a day, 5,000 in 30 days), each paced so that the shorter windows stay under their own thresholds.
func TestSignalVolume(t *testing.T) {
	for _, tt := range []struct {
		signal string
		n      int
		every  time.Duration
	}{
		{"volume-10m", 60, 5 * time.Second},
		{"volume-1h", 120, 29 * time.Second},  // at most 21 in 10 minutes
		{"volume-1d", 400, 3 * time.Minute},   // 20 an hour
		{"volume-30d", 5000, 7 * time.Minute}, // ~206 a day, every hour alike: no baseline, no off-hours
	} {
		t.Run(tt.signal, func(t *testing.T) {
			signalCase{n: tt.n, events: func(i int) sentinel.Event {
				return agentRead(signalDay.Add(time.Duration(i)*tt.every), fmt.Sprintf("emp-%08d", 7*tt.n-i), "CASA-ANFA")
			}}.check(t, tt.signal, "distinct_records")
		})
	}
	t.Run("RepeatsCountOnce", func(t *testing.T) { // the same record read again is not a new one
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		for i := range 200 {
			if rs := d.Observe(agentRead(signalDay.Add(time.Duration(i)*time.Second), fmt.Sprintf("emp-%08d", i%59), "CASA-ANFA")); len(rs) != 0 {
				t.Fatalf("read %d of 59 records drew %+v", i, rs)
			}
		}
	})
}

// TestSignalDenied: denied requests over 10 minutes (4) and over a day (5, paced 15 minutes apart so
// that the 10-minute window holds one).
func TestSignalDenied(t *testing.T) {
	for _, tt := range []struct {
		signal string
		n      int
		every  time.Duration
	}{
		{"denied-10m", 4, time.Second},
		{"denied-1d", 5, 15 * time.Minute},
	} {
		t.Run(tt.signal, func(t *testing.T) {
			signalCase{n: tt.n, events: func(i int) sentinel.Event {
				return sentinel.Event{Time: signalDay.Add(9*time.Hour + time.Duration(i)*tt.every), Principal: "employer-1", Role: "employer",
					Home: "1234567", Action: "read", Record: fmt.Sprintf("emp-%08d", 900-i), RecordHome: "7654321", Outcome: "denied"}
			}}.check(t, tt.signal, "denied_requests")
		})
	}
}

// TestSignalBaseline: three days of 50 distinct records make a daily mean of 50 (own and peers'); on
// the fourth, the 200th distinct record is four times that mean, past the floor of 150.
func TestSignalBaseline(t *testing.T) {
	var history []sentinel.Event
	for day := range 3 {
		for i := range 50 {
			at := signalDay.Add(time.Duration(day)*24*time.Hour + 9*time.Hour + time.Duration(i)*5*time.Minute)
			history = append(history, agentRead(at, fmt.Sprintf("emp-%08d", 10000+day*100+i), "CASA-ANFA"))
		}
	}
	day4 := signalDay.Add(3 * 24 * time.Hour)
	signalCase{history: history, n: 200, events: func(i int) sentinel.Event {
		return agentRead(day4.Add(time.Duration(i)*4*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA")
	}}.check(t, "baseline", "distinct_records_today")
}

// TestSignalOutsideHome: 40 distinct records of another agency in a day, in decreasing id order (an
// increasing walk would be enumeration, whose threshold is lower).
func TestSignalOutsideHome(t *testing.T) {
	signalCase{n: 40, events: func(i int) sentinel.Event {
		return agentRead(signalDay.Add(9*time.Hour+time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 5000-i), "RABAT-AGDAL")
	}}.check(t, "outside-home", "distinct_outside_records")
}

// TestSignalEnumeration: a run of 30 outside-home reads in increasing id order.
func TestSignalEnumeration(t *testing.T) {
	signalCase{n: 30, events: func(i int) sentinel.Event {
		return agentRead(signalDay.Add(9*time.Hour+time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 5000+3*i), "RABAT-AGDAL")
	}}.check(t, "enumeration", "ascending_run")
	t.Run("BrokenRun", func(t *testing.T) { // one step back starts the run again
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		for i := range 39 {
			id := 5000 + 3*i
			if i >= 20 {
				id = 4000 + 3*i // a jump down at the 21st read: runs of 20 and 19
			}
			if rs := d.Observe(agentRead(signalDay.Add(9*time.Hour+time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", id), "RABAT-AGDAL")); len(rs) != 0 {
				t.Fatalf("read %d drew %+v", i, rs)
			}
		}
	})
}

// TestSignalOffHours: five working days of reads between 09:00 and 17:00 teach the principal's hours;
// on the sixth, 40 distinct records read at 02:00 (an hour holding none of its past reads).
func TestSignalOffHours(t *testing.T) {
	var history []sentinel.Event
	for day := range 5 {
		for i := range 40 {
			at := signalDay.Add(time.Duration(day)*24*time.Hour + 9*time.Hour + time.Duration(i)*12*time.Minute)
			history = append(history, agentRead(at, fmt.Sprintf("emp-%08d", 10000+day*100+i), "CASA-ANFA"))
		}
	}
	night := signalDay.Add(5*24*time.Hour + 2*time.Hour)
	signalCase{history: history, n: 40, events: func(i int) sentinel.Event {
		return agentRead(night.Add(time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA")
	}}.check(t, "off-hours", "distinct_records_off_hours_today")
}

// TestSignalExports: 30 distinct records exported in a day under a purpose the configuration does not
// name (the "*" thresholds), paced so that no volume window fires.
func TestSignalExports(t *testing.T) {
	signalCase{n: 30, events: func(i int) sentinel.Event {
		e := agentRead(signalDay.Add(9*time.Hour+time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 5000-i), "CASA-ANFA")
		e.Action = "export"
		return e
	}}.check(t, "exports", "distinct_records_exported_or_attested")
}

// TestSignalCampaign: three principals alerted on an extraction signal (volume-10m) within the hour
// are flagged as one campaign, on the third one's alert; two are not.
func TestSignalCampaign(t *testing.T) {
	run := func(principals int) (campaigns []sentinel.Response) {
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		for p := range principals {
			for i := range 60 {
				e := agentRead(signalDay.Add(9*time.Hour+time.Duration(p)*10*time.Minute+time.Duration(i)*time.Second),
					fmt.Sprintf("emp-%08d", 9000-i), "CASA-ANFA")
				e.Principal = fmt.Sprintf("agent-%d", p+1)
				for _, r := range d.Observe(e) {
					if r.Signal == "campaign" {
						if p != 2 || i != 59 {
							t.Errorf("campaign at principal %d, read %d", p+1, i+1)
						}
						campaigns = append(campaigns, r)
					}
				}
			}
		}
		return campaigns
	}
	t.Run("OK", func(t *testing.T) {
		rs := run(3)
		if len(rs) != 1 || rs[0].Principal != "campaign" || rs[0].Response != sentinel.Alert || rs[0].Evidence["count"] != 3 {
			t.Fatalf("got %+v, want one campaign alert naming 3 principals", rs)
		}
	})
	t.Run("UnderThreshold", func(t *testing.T) {
		if rs := run(2); len(rs) != 0 {
			t.Fatalf("two principals drew %+v", rs)
		}
	})
}
