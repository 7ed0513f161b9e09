package sentinel

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string ("10m", "720h").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"10m\": %v", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("duration: %q is not a positive duration", s)
	}
	*d = Duration(v)
	return nil
}

// Levels are the graded thresholds of one signal: the value at which each response is taken. Zero
// disables a level. Thresholds must increase with the response.
type Levels struct {
	Alert    float64 `json:"alert"`
	Throttle float64 `json:"throttle"`
	StepUp   float64 `json:"step_up"`
	Suspend  float64 `json:"suspend"`
}

// level is the highest response whose threshold v reaches (0: none).
func (l Levels) level(v float64) int {
	lv := 0
	for i, t := range [...]float64{l.Alert, l.Throttle, l.StepUp, l.Suspend} {
		if t > 0 && v >= t {
			lv = i + 1
		}
	}
	return lv
}

// WindowRule applies Levels to a count over a sliding window of event time.
type WindowRule struct {
	Window Duration `json:"window"`
	Levels
}

// Config holds every signal's thresholds. The zero value of a Levels disables its signal.
type Config struct {
	// Volume: distinct records reached by any channel (read, search, export, attest) per principal over
	// each sliding window. The live gate asks before it releases (Live.AdmitRelease): a release that
	// would reach a suspension threshold is refused, not learned of after.
	Volume []WindowRule `json:"volume"`
	// Baseline: today's distinct records as a multiple of the larger of the principal's own mean daily
	// figure and its peers' (same role, same home); only past Floor records and after MinDays active days.
	Baseline BaselineRule `json:"baseline"`
	// OutsideHome: distinct records read today whose record_home is not the principal's home.
	OutsideHome Levels `json:"outside_home"`
	// OffHours: distinct records read today in hours the principal rarely works (learned).
	OffHours OffHoursRule `json:"off_hours"`
	// Enumeration: length of the current run of outside-home reads in strictly increasing numeric id order.
	Enumeration Levels `json:"enumeration"`
	// Denied: denied requests per principal over each sliding window.
	Denied []WindowRule `json:"denied"`
	// Exports: distinct records exported or attested today per principal, all purposes together (a
	// purpose opens no allowance of its own); the thresholds are those of the event's purpose if listed
	// here, else "*". The system principal's nightly attestation batch is outside the release signals.
	Exports map[string]Levels `json:"exports"`
	// Campaign: this many principals alerted on extraction signals within Window are flagged as one campaign.
	Campaign CampaignRule `json:"campaign"`
	// Sustained: cumulative excess over the principal's active days (a one-sided CUSUM), so that a steady
	// reader at several times its own and its peers' volume is contained within a day or two, however
	// evenly it spreads its reads. Missing from an older configuration file, it keeps its default.
	Sustained SustainedRule `json:"sustained"`
	// AfterStepUp: a principal that reads this many more distinct records while a step-up stands on any
	// of its signals is suspended. A step-up does not stop an insider, who passes it with their own
	// passkey; continuing at the level that caused it is what this catches. Zero disables it.
	AfterStepUp int `json:"after_step_up"`
}

// SustainedRule is a one-sided CUSUM of the daily distinct-record count. Each day's count x is measured
// against ref × activity. ref is the larger of Floor, the principal's own mean daily count (once it
// has MinDays days of history) and its peers' mean (same role, same home): the new staff member without
// history is measured against its peers; a principal with neither has no reference yet. activity is
// how busy the peers were on their last closed day against their own means (the median, within
// [0.5, 2]): a declaration peak raises everyone's day, and the reference with it. The cumulative excess
// S = max(0, S + x/(ref × activity) − Slack) is summed over active days and kept across them; during
// the day it is evaluated with the count so far, so that a suspension comes when the reads cross the
// threshold, not at the next day's first read. The Levels apply to S (in reference days) once the
// excess spans more than one day (S > 0 before today): a single day is the baseline's and the
// windows' to judge. With the defaults an honest busy day at 2.5× its mean adds 1.25, and a reader at
// 5× its peers adds 3.75 a day. Days enter the own and peer means capped at Slack × ref: a reader in
// excess does not raise the reference it is measured against. Zero Slack or zero Levels disable it.
type SustainedRule struct {
	Slack   float64 `json:"slack"`
	MinDays int     `json:"min_days"`
	Floor   float64 `json:"floor"`
	Levels
}

// BaselineRule compares a principal with its own history and its peers.
type BaselineRule struct {
	MinDays int     `json:"min_days"`
	Floor   float64 `json:"floor"`
	Levels
}

// OffHoursRule learns each principal's hours: an hour holding less than MinShare of its past reads is
// unusual, once it has MinDays active days.
type OffHoursRule struct {
	MinDays  int     `json:"min_days"`
	MinShare float64 `json:"min_share"`
	Levels
}

// CampaignRule groups alerts of several principals.
type CampaignRule struct {
	Window     Duration `json:"window"`
	Principals int      `json:"principals"`
}

// DefaultConfig returns thresholds fitted to the simulated registry: an honest agent reads 40–150
// distinct records a day, at most ~40 in an hour; the 2024 extraction read ~7,000 an hour. Every
// containment level (throttle and above) sits at least twice above the busiest honest figure seen in
// simulation, and every suspension is reached within a few hundred records at the 2024 rates.
func DefaultConfig() Config {
	const (
		m = Duration(time.Minute)
		h = Duration(time.Hour)
	)
	return Config{
		Volume: []WindowRule{
			{Window: 10 * m, Levels: Levels{Alert: 60, Throttle: 100, StepUp: 150, Suspend: 200}},
			{Window: h, Levels: Levels{Alert: 120, Throttle: 180, StepUp: 240, Suspend: 300}},
			{Window: 24 * h, Levels: Levels{Alert: 400, Throttle: 550, StepUp: 700, Suspend: 800}},
			// Over 30 days only an alert: sustained excess is bound by Sustained, relative to the
			// principal's own and its peers' work, not by a monthly figure an insider can stay under.
			{Window: 720 * h, Levels: Levels{Alert: 5000}},
		},
		Baseline:    BaselineRule{MinDays: 3, Floor: 150, Levels: Levels{Alert: 4, Throttle: 6, StepUp: 8}},
		OutsideHome: Levels{Alert: 40, Throttle: 80, StepUp: 120, Suspend: 200},
		OffHours:    OffHoursRule{MinDays: 5, MinShare: 0.01, Levels: Levels{Alert: 40, Throttle: 80}},
		Enumeration: Levels{Alert: 30, Throttle: 60, StepUp: 100, Suspend: 150},
		Denied: []WindowRule{
			{Window: 10 * m, Levels: Levels{Alert: 4, Throttle: 6, StepUp: 9, Suspend: 12}},
			{Window: 24 * h, Levels: Levels{Alert: 5, Throttle: 8, StepUp: 10, Suspend: 12}},
		},
		// An honest agent exports a few records a day (3% of its reads). The nightly batch (the system
		// principal) attests one in twenty employers and is outside these signals.
		Exports: map[string]Levels{
			"*": {Alert: 30, Throttle: 60, StepUp: 100, Suspend: 150},
		},
		Campaign: CampaignRule{Window: h, Principals: 3},
		// An honest agent's day is 0.7–1.3× its mean, scaled by its peers' activity: it rarely adds
		// anything to S; a busy day at 2.5× adds 1.25, two in a row alert, containment starts at 4
		// (throttle), four busy days in a row. A reader at 3× alerts on its second day; at 5× it is
		// suspended on its second or third.
		Sustained:   SustainedRule{Slack: 1.25, MinDays: 3, Floor: 40, Levels: Levels{Alert: 2.5, Throttle: 4, StepUp: 5, Suspend: 6}},
		AfterStepUp: 100,
	}
}

func (c Config) validate() error {
	check := func(name string, l Levels) error {
		prev := 0.0
		for _, t := range [...]float64{l.Alert, l.Throttle, l.StepUp, l.Suspend} {
			if t < 0 {
				return fmt.Errorf("%s: negative threshold", name)
			}
			if t > 0 && t <= prev {
				return fmt.Errorf("%s: thresholds must increase from alert to suspend", name)
			}
			if t > 0 {
				prev = t
			}
		}
		return nil
	}
	var errs []error
	for _, r := range c.Volume {
		errs = append(errs, check("volume", r.Levels))
		if r.Window <= 0 {
			errs = append(errs, errors.New("volume: window must be positive"))
		}
	}
	for _, r := range c.Denied {
		errs = append(errs, check("denied", r.Levels))
		if r.Window <= 0 {
			errs = append(errs, errors.New("denied: window must be positive"))
		}
	}
	for purpose, l := range c.Exports {
		errs = append(errs, check("exports "+purpose, l))
	}
	errs = append(errs, check("baseline", c.Baseline.Levels), check("outside_home", c.OutsideHome),
		check("off_hours", c.OffHours.Levels), check("enumeration", c.Enumeration), check("sustained", c.Sustained.Levels))
	if c.Sustained.Slack < 0 || c.Sustained.Floor < 0 || c.Sustained.MinDays < 0 || c.AfterStepUp < 0 {
		errs = append(errs, errors.New("sustained, after_step_up: must not be negative"))
	}
	return errors.Join(errs...)
}
