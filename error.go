package amane

import (
	"errors"
	"fmt"
)

// Error codes: the one vocabulary every layer speaks. The web adapter maps each to an HTTP status
// (errorStatus, web/server.go); the CLI prints the message and exits non-zero.
const (
	EINVALID      = "invalid"      // the input breaks a rule; Message says which field and why
	ENOTFOUND     = "not_found"    // no such record
	ECONFLICT     = "conflict"     // the record exists already, or the change conflicts with the store
	EUNAUTHORIZED = "unauthorized" // no valid credential
	EFORBIDDEN    = "forbidden"    // a valid credential that may not do this
	ETHROTTLED    = "throttled"    // too many requests: the sentinel slowed this principal down
	EINTERNAL     = "internal"     // a bug or an outage; the detail is logged, never shown
)

// Error is an application error with a code and a message a user can act on. Messages never hold
// personal values: they name fields, lines and rules.
type Error struct {
	Code    string
	Message string
	// Fields lists field-level problems (several at once, e.g. every bad cell of a form).
	Fields []FieldError
}

// FieldError is one problem with one field, optionally on one line of a file.
type FieldError struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Record string `json:"record,omitempty"` // a file's record type ("B02") where it has records
	Field  string `json:"field"`
	Rule   string `json:"rule"`
	// Expected and Found, where the rule compares values (a control sum, a count); never a personal
	// value (names, CIN) in clear.
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
}

func (e FieldError) String() string {
	field := e.Field
	if e.Record != "" {
		field = e.Record + "." + e.Field
	}
	var s string
	switch {
	case e.File != "" && e.Line > 0:
		s = fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, field, e.Rule)
	case e.Line > 0:
		s = fmt.Sprintf("line %d: %s: %s", e.Line, field, e.Rule)
	default:
		s = fmt.Sprintf("%s: %s", field, e.Rule)
	}
	if e.Expected != "" || e.Found != "" {
		s += fmt.Sprintf(" (expected %s, found %s)", e.Expected, e.Found)
	}
	return s
}

func (e *Error) Error() string {
	return fmt.Sprintf("amane error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error that lists field problems.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// ErrorCode returns the code of an application error, EINTERNAL for any other error, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an application error, or a generic message for any other error,
// so that internal details never reach a user.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Internal error."
}

// Conflict is the ECONFLICT error a store returns when a unique value is taken: it names the field
// ("immatriculation", "cin", "passeport", "affiliation"; anything else reads as a generic conflict),
// never the value.
func Conflict(field string) *Error {
	switch field {
	case "immatriculation":
		return &Error{Code: ECONFLICT, Message: "This immatriculation number is registered already.", Fields: []FieldError{{Field: field, Rule: "is registered already"}}}
	case "cin":
		return &Error{Code: ECONFLICT, Message: "This CIN is registered to another insured person.", Fields: []FieldError{{Field: field, Rule: "is registered to another insured person"}}}
	case "passeport":
		return &Error{Code: ECONFLICT, Message: "This passport number is registered to another insured person.", Fields: []FieldError{{Field: field, Rule: "is registered to another insured person"}}}
	case "affiliation":
		return Errorf(ECONFLICT, "An employer with this affiliation number exists already.")
	case "login":
		return &Error{Code: ECONFLICT, Message: "This login is taken.", Fields: []FieldError{{Field: field, Rule: "is taken"}}}
	case "passkey":
		return Errorf(ECONFLICT, "This passkey is registered already.")
	case "token":
		return Errorf(ECONFLICT, "This token exists already.")
	case "periode":
		return &Error{Code: ECONFLICT, Message: "This period is declared already: send a complementary declaration.", Fields: []FieldError{{Field: field, Rule: "is declared already"}}}
	case "history_key":
		return &Error{Code: ECONFLICT, Message: "Another writer declared one of these people at the same time, or the person was erased.", Fields: []FieldError{{Field: field, Rule: "exists already or the person was erased"}}}
	case "number":
		return &Error{Code: ECONFLICT, Message: "A case with this number exists already.", Fields: []FieldError{{Field: field, Rule: "exists already"}}}
	case "code":
		return &Error{Code: ECONFLICT, Message: "This verification code exists already.", Fields: []FieldError{{Field: field, Rule: "exists already"}}}
	}
	return Errorf(ECONFLICT, "The record conflicts with an existing one.")
}
