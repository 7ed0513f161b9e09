package alert

import "time"

// Hooks for the external tests.

var (
	EscapeParamValue = escapeParamValue
	FormatRFC5424    = formatRFC5424
)

// SetBackoff shortens the webhook's pause between tries.
func SetBackoff(w *Webhook, d time.Duration) { w.backoff = d }
