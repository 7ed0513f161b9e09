package amane

import (
	"context"
	"encoding/json"
)

// SecurityAlert is one response the sentinel took about a principal (package sentinel), as the store
// keeps it for the security console: identifiers, counts, windows and sample record references, never
// personal data. Lifted and LiftedBy are set when a security officer lifts the principal's responses.
type SecurityAlert struct {
	ID        int64           `json:"id"`
	Time      string          `json:"time"` // RFC 3339, UTC
	Principal string          `json:"principal"`
	Response  string          `json:"response"` // alert, throttle, step_up, suspend
	Signal    string          `json:"signal"`
	Evidence  json.RawMessage `json:"evidence"` // a JSON object
	Journal   int64           `json:"journal"`  // the index of the journal entry that records it
	Lifted    string          `json:"lifted,omitempty"`
	LiftedBy  string          `json:"lifted_by,omitempty"`
}

// AlertStore keeps the sentinel's alerts.
type AlertStore interface {
	// AddAlert stores an alert and returns its id.
	AddAlert(ctx context.Context, a *SecurityAlert) (int64, error)
	// Alerts returns up to limit alerts whose id is below before (0: from the newest), newest first.
	Alerts(ctx context.Context, before int64, limit int) ([]SecurityAlert, error)
	// OpenAlerts returns the alerts not lifted, of one principal or of all (""), oldest first.
	OpenAlerts(ctx context.Context, principal string) ([]SecurityAlert, error)
	// LiftAlerts marks the principal's open alerts lifted at a time by a principal and returns how many.
	LiftAlerts(ctx context.Context, principal, by, at string) (int, error)
}

// CheckAlert refuses an alert a store could not keep as given.
func CheckAlert(a *SecurityAlert) error {
	if a == nil || a.Time == "" || a.Principal == "" || a.Response == "" || a.Signal == "" || !json.Valid(a.Evidence) || a.Journal < 0 {
		return Errorf(EINVALID, "An alert needs a time, a principal, a response, a signal and evidence as JSON.")
	}
	return nil
}
