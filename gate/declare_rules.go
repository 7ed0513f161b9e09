package gate

import (
	"amane"
	"amane/damancom"
)

// checkLines applies the exchange format's rules (package damancom holds them, once, for every channel).
func checkLines(d *amane.Declaration, ceiling int64) []amane.FieldError {
	return damancom.Check(d, ceiling)
}
