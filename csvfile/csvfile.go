// Package csvfile reads the registry's exchange files, ADHERENTS.csv (employers) and SALARIES.csv
// (insured employees), as `amane synth` writes them: UTF-8 (an initial byte-order mark is skipped),
// comma-separated, RFC 4180 quoting, a header row naming exactly the columns below in this order.
//
// Each row becomes a domain value, validated and normalized by the domain's rules; every problem of a
// row is reported at once as amane.FieldError{File, Line, Field, Rule}, never with the value.
package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"amane"
)

// EmployerColumns are the columns of ADHERENTS.csv.
var EmployerColumns = []string{"affiliation", "raison_sociale", "activite", "adresse", "ville", "date_adhesion",
	"date_affiliation", "ice", "rc", "tp", "if", "forme_juridique", "agence", "etat_compte", "representant_nom",
	"representant_prenom", "representant_cin", "email", "telephone", "mode_telepaiement", "rib", "code_banque",
	"date_creation_compte", "mandataire"}

// EmployeeColumns are the columns of SALARIES.csv.
var EmployeeColumns = []string{"immatriculation", "cin", "passeport", "nom", "prenom", "date_affiliation",
	"employeur", "affiliation_employeur", "etat_demande"}

// Reader reads one file's rows.
type Reader struct {
	name    string
	csv     *csv.Reader
	columns []string
	line    int
}

// ErrHeader is wrapped by the error NewReader returns when the header row is not the expected one.
var ErrHeader = errors.New("header")

func newReader(name string, r io.Reader, columns []string) (*Reader, *amane.FieldError) {
	br := bufio.NewReaderSize(r, 1<<20)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	c := csv.NewReader(br)
	c.FieldsPerRecord = -1 // counted per row, so that a short row is reported with its line
	c.ReuseRecord = true
	rd := &Reader{name: name, csv: c, columns: columns}
	head, err := c.Read()
	rd.line = 1
	if err != nil {
		return nil, &amane.FieldError{File: name, Line: 1, Field: "header", Rule: "cannot read the header row: " + csvRule(err)}
	}
	if strings.Join(head, ",") != strings.Join(columns, ",") {
		return nil, &amane.FieldError{File: name, Line: 1, Field: "header", Rule: "must be exactly: " + strings.Join(columns, ",")}
	}
	return rd, nil
}

// csvRule describes a CSV syntax error without quoting the offending text.
func csvRule(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("CSV syntax: %v (column %d)", pe.Err, pe.Column)
	}
	return err.Error()
}

// next returns the next row's fields, its line number, and a row-level problem if the row is not
// well-formed. io.EOF at the end.
func (r *Reader) next() ([]string, int, *amane.FieldError, error) {
	rec, err := r.csv.Read()
	if err == io.EOF {
		return nil, 0, nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, &amane.FieldError{File: r.name, Line: pe.StartLine, Field: "(row)", Rule: csvRule(err)}, nil
		}
		return nil, 0, nil, err
	}
	line, _ := r.csv.FieldPos(0) // only valid for a record read without error
	if len(rec) != len(r.columns) {
		return nil, line, &amane.FieldError{File: r.name, Line: line, Field: "(row)", Rule: fmt.Sprintf("must have %d columns, has %d", len(r.columns), len(rec))}, nil
	}
	return rec, line, nil, nil
}

func located(name string, line int, errs []amane.FieldError) []amane.FieldError {
	for i := range errs {
		errs[i].File, errs[i].Line = name, line
	}
	return errs
}

// EmployerReader reads ADHERENTS.csv.
type EmployerReader struct{ r *Reader }

// NewEmployerReader checks the header row. A bad header is returned as a FieldError on line 1.
func NewEmployerReader(name string, r io.Reader) (*EmployerReader, *amane.FieldError) {
	rd, ferr := newReader(name, r, EmployerColumns)
	if ferr != nil {
		return nil, ferr
	}
	return &EmployerReader{rd}, nil
}

// Next returns the next employer with its line number. When the row breaks rules, errs lists every
// problem and e holds the row as far as it could be read (nil if the row is not even well-formed CSV);
// use e only when errs is empty. err is io.EOF at the end, or an I/O error.
func (er *EmployerReader) Next() (line int, e *amane.Employer, errs []amane.FieldError, err error) {
	rec, line, ferr, err := er.r.next()
	if err != nil {
		return 0, nil, nil, err
	}
	if ferr != nil {
		return line, nil, []amane.FieldError{*ferr}, nil
	}
	e = &amane.Employer{
		EmployerIdentity: amane.EmployerIdentity{
			Affiliation: rec[0], Name: rec[1], Activity: rec[2], Address: rec[3], City: rec[4],
			AdhesionDate: rec[5], AffiliationDate: rec[6], ICE: rec[7], RC: rec[8], TP: rec[9], IF: rec[10],
			LegalForm: rec[11], Agency: rec[12], AccountState: rec[13], PaymentMode: rec[19], BankCode: rec[21],
			BankAccountDate: rec[22],
		},
		Representative: amane.Representative{Surname: rec[14], FirstName: rec[15], CIN: rec[16]},
		Email:          rec[17], Phone: rec[18], RIB: rec[20], Mandataire: rec[23],
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return line, e, located(er.r.name, line, errs), nil
	}
	return line, e, nil, nil
}

// EmployeeReader reads SALARIES.csv.
type EmployeeReader struct{ r *Reader }

// NewEmployeeReader checks the header row.
func NewEmployeeReader(name string, r io.Reader) (*EmployeeReader, *amane.FieldError) {
	rd, ferr := newReader(name, r, EmployeeColumns)
	if ferr != nil {
		return nil, ferr
	}
	return &EmployeeReader{rd}, nil
}

// Next returns the next insured person with its one employment (the row's employer), like
// EmployerReader.Next. The employer's name column is informational and kept in EmployerName.
func (er *EmployeeReader) Next() (line int, e *amane.Employee, errs []amane.FieldError, err error) {
	rec, line, ferr, err := er.r.next()
	if err != nil {
		return 0, nil, nil, err
	}
	if ferr != nil {
		return line, nil, []amane.FieldError{*ferr}, nil
	}
	e = &amane.Employee{
		Immatriculation: rec[0], CIN: rec[1], Passport: rec[2], Surname: rec[3], FirstName: rec[4], AffiliationDate: rec[5],
		Employments: []amane.Employment{{EmployerName: rec[6], Affiliation: rec[7], Since: rec[5], State: rec[8]}},
	}
	var kept []amane.FieldError
	for _, fe := range e.Normalize() { // the domain's nested names, mapped back to this file's columns
		switch fe.Field {
		case "emplois.affiliation":
			fe.Field = "affiliation_employeur"
		case "emplois.etat":
			fe.Field = "etat_demande"
		case "emplois.employeur":
			fe.Field = "employeur"
		case "emplois.depuis":
			continue // the same column as date_affiliation, reported once
		}
		kept = append(kept, fe)
	}
	errs = kept
	if len(errs) > 0 {
		return line, e, located(er.r.name, line, errs), nil
	}
	return line, e, nil, nil
}
