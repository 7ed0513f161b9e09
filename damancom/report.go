package damancom

import (
	"strconv"
	"strings"
)

// Problem is one problem of a file: where (line, record, field), what was expected and found, and the
// rule. Expected and Found never hold a text field's value (see the package documentation).
type Problem struct {
	Line     int    `json:"line"`     // 1-based; one past the last line for a missing record; 0 when not tied to a line
	Record   string `json:"record"`   // record type, e.g. "B02"; "" when unknown
	Field    string `json:"field"`    // the cahier's field name, or "length", "order", "line end", "charset"
	Expected string `json:"expected"` // what the field should hold
	Found    string `json:"found"`    // what it holds, or a description of it
	Rule     string `json:"rule"`     // a short English sentence
}

// String renders p on one line: "line 4: B02 N_Jours_Declares: expected at most 26; found 27; rule".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Record != "" {
		b.WriteString(p.Record)
		b.WriteByte(' ')
	}
	b.WriteString(p.Field)
	switch {
	case p.Expected != "" && p.Found != "":
		b.WriteString(": expected " + p.Expected + "; found " + p.Found)
	case p.Expected != "":
		b.WriteString(": expected " + p.Expected)
	case p.Found != "":
		b.WriteString(": found " + p.Found)
	}
	if p.Rule != "" {
		b.WriteString("; ")
		b.WriteString(p.Rule)
	}
	return b.String()
}

// Report is every problem found in one file, sorted by line then column. Decode and Encode return it
// as their error.
type Report struct {
	Problems []Problem `json:"problems"`
}

// Error gives the number of problems and the first one.
func (r *Report) Error() string {
	switch len(r.Problems) {
	case 0:
		return "damancom: no problem"
	case 1:
		return "damancom: " + r.Problems[0].String()
	}
	return "damancom: " + strconv.Itoa(len(r.Problems)) + " problems, the first: " + r.Problems[0].String()
}

// Text renders the report for a reader, one problem a line.
func (r *Report) Text() string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}
