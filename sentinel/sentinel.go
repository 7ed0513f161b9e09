// Package sentinel watches how principals read the registry and contains the ones that extract it
// (MISSION.md property 4, issue 7).
//
// The sentinel is a pure streaming function of event time: [Detector.Observe] takes one [Event] at a time,
// in time order, and returns the [Response]s it takes. Nothing inside reads the wall clock, so the gate's
// live feed and a replayed JSON Lines file go through the same code and weeks replay in seconds with
// reproducible results.
//
// An event is one JSON object a line (JSON Lines, RFC 8259 objects separated by "\n"):
//
//	{"time":"2024-11-04T09:12:03Z","principal":"agent-0412","role":"agent","home":"CASA-ANFA",
//	 "action":"read","record":"emp-88120394","record_home":"CASA-ANFA","purpose":"dossier","outcome":"allowed"}
//
// time is RFC 3339; role is agent, supervisor, employer, insured, integration or system; action is read,
// search, export (a file written out whole: a declaration file, a préétabli), write or attest; home is
// the principal's agency (or its affiliation, for an employer user); record_home is the record's. Every
// record reached by read, search, export or attest counts in the same windows. A principal whose home
// changes (staff moved to another agency) is compared with its new peers from then on. A response is
//
//	{"time":…,"principal":…,"response":"alert|throttle|step_up|suspend","signal":…,"evidence":{…}}
//
// Evidence holds counts, windows, thresholds, peers' figures and sample record references, never
// personal data: the sentinel sees identifiers only.
//
// The signals and their graded thresholds are in [Config]; [DefaultConfig] is what the tests prove
// against the simulated traffic of [Simulate].
package sentinel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"amane"
)

// Event is one access the gate decided, as the sentinel sees it: the journal's access event
// (amane.AccessEvent) with its action folded to the sentinel's classes (amane.WatchedActions), the
// principal's role to the sentinel's roles, and the homes of the principal and of the record (see
// EventOf). Its JSON is the JSON Lines schema above (TestEventJSONLinesV1 pins it).
type Event struct {
	Time       time.Time     `json:"time"`
	Principal  string        `json:"principal"`
	Role       string        `json:"role"`
	Home       string        `json:"home"`
	Action     amane.Action  `json:"action"`
	Record     string        `json:"record"`
	RecordHome string        `json:"record_home"`
	Purpose    string        `json:"purpose"`
	Outcome    amane.Outcome `json:"outcome"`
}

// EventOf is the event of a journaled access at t, by a principal whose role is role in the
// sentinel's vocabulary, at home, to a record at recordHome. ok is false for the journal's own views
// (access log, proof, journal), which release no personal data and which the sentinel does not watch.
func EventOf(e *amane.AccessEvent, t time.Time, role, home, recordHome string) (ev Event, ok bool) {
	action, ok := e.Action.Watched()
	if !ok {
		return Event{}, false
	}
	return Event{Time: t, Principal: e.Principal, Role: role, Home: home, Action: action,
		Record: e.Record, RecordHome: recordHome, Purpose: e.Purpose, Outcome: e.Outcome}, true
}

// Responses, in escalating order.
const (
	Alert    = "alert"
	Throttle = "throttle"
	StepUp   = "step_up"
	Suspend  = "suspend"
)

// levelNames maps a level (1..4) to its response; 0 is "nothing".
var levelNames = [...]string{"", Alert, Throttle, StepUp, Suspend}

// Response is one action the sentinel takes about a principal.
type Response struct {
	Time      time.Time      `json:"time"`
	Principal string         `json:"principal"`
	Response  string         `json:"response"`
	Signal    string         `json:"signal"`
	Evidence  map[string]any `json:"evidence"`
}

// maxLine bounds one event line: a real event is under 400 bytes.
const maxLine = 4096

// DecodeEvent parses one JSON Lines event strictly: no unknown fields, no trailing data, an RFC 3339 time,
// a principal, and known role, action and outcome values.
func DecodeEvent(line []byte) (Event, error) {
	var e Event
	if len(line) > maxLine {
		return e, fmt.Errorf("line longer than %d bytes", maxLine)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("not an event object: %v", err)
	}
	if dec.More() {
		return Event{}, errors.New("trailing data after the event object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, errors.New("trailing data after the event object")
	}
	switch {
	case e.Time.IsZero():
		return Event{}, errors.New("time: required (RFC 3339)")
	case e.Principal == "":
		return Event{}, errors.New("principal: required")
	case !oneOf(e.Role, "agent", "supervisor", "employer", "insured", "integration", "system"):
		return Event{}, fmt.Errorf("role: %q is not agent, supervisor, employer, insured, integration or system", e.Role)
	case !slices.Contains(amane.WatchedActions, e.Action):
		return Event{}, fmt.Errorf("action: %q is not read, search, export, write or attest", e.Action)
	case e.Outcome != amane.OutcomeAllowed && e.Outcome != amane.OutcomeDenied:
		return Event{}, fmt.Errorf("outcome: %q is not allowed or denied", e.Outcome)
	}
	return e, nil
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// ReadEvents yields the events of a JSON Lines stream in order; blank lines are skipped. An error names
// the line; events out of time order are an error, since the detector's windows assume event time moves
// forward.
func ReadEvents(r io.Reader) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64*1024), maxLine+1)
		var last time.Time
		n := 0
		for sc.Scan() {
			n++
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			e, err := DecodeEvent(line)
			if err == nil && e.Time.Before(last) {
				err = fmt.Errorf("time: %s is before the previous event's %s (events must be in time order)",
					e.Time.Format(time.RFC3339), last.Format(time.RFC3339))
			}
			if err != nil {
				yield(Event{}, fmt.Errorf("line %d: %w", n, err))
				return
			}
			last = e.Time
			if !yield(e, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Event{}, fmt.Errorf("line %d: %w", n+1, err))
		}
	}
}

// ReadCanaries reads canary record references, one a line; blank lines and lines starting with # are
// skipped.
func ReadCanaries(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// LoadConfig reads a JSON configuration over the defaults: fields it omits keep their default values.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %v", path, err)
	}
	return cfg, cfg.validate()
}
