package damancom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"amane"
)

// This file maps the exchange files to the domain's declarations (amane.Declaration) and back, so
// that every channel — a file, the JSON API, a bulk load — goes through the same rules: the JSON API's
// declarations are encoded and decoded again (Check), and the rules live in the decoder alone.

// ReadDeclaration decodes a DS_… or DSC<n>_… file into a domain declaration. name (may be "") gives
// the kind: a DSC name asks for a complementary declaration. The error is an *amane.Error (EINVALID)
// listing every problem with its line, record, field, expected and found.
func ReadDeclaration(name string, r io.Reader) (*amane.Declaration, error) {
	return ReadDeclarationAt(name, r, 1)
}

// ReadDeclarationAt is ReadDeclaration for a declaration that starts at line firstLine of a larger
// (bulk) file: problems and lines carry the bulk file's line numbers.
func ReadDeclarationAt(name string, r io.Reader, firstLine int) (*amane.Declaration, error) {
	off := firstLine - 1
	d, err := DecodeDeclaration(r)
	if err != nil {
		var rep *Report
		if errors.As(err, &rep) {
			return nil, reportError(rep.Problems, off)
		}
		return nil, err
	}
	out := toDomain(d, off)
	if name != "" {
		kind, n, aff, period, err := ParseName(name)
		switch {
		case err != nil: // renamed on the way ("DS_… (1).txt"): the content says what it is
		case aff != out.Affiliation || period != out.Period:
			return nil, amane.Invalid("The file name does not match its content.", amane.FieldError{Field: "file name",
				Rule: "affiliation and period must be the file's", Expected: out.Affiliation + "_" + out.Period, Found: aff + "_" + period})
		case kind == KindComplementary:
			out.Seq = max(n, 1)
		case kind == KindPreetabli:
			return nil, amane.Invalid("This is a préétabli, not a declaration.", amane.FieldError{Field: "file name", Rule: "a declaration is DS_… or DSC<n>_…"})
		}
	}
	return out, nil
}

// reportError turns a decoder's report into the domain's error, shifting lines by off.
func reportError(ps []Problem, off int) *amane.Error {
	fs := make([]amane.FieldError, len(ps))
	for i, p := range ps {
		fs[i] = fieldError(p)
		if fs[i].Line > 0 {
			fs[i].Line += off
		}
	}
	return amane.Invalid(fmt.Sprintf("The file has %d problems; nothing was stored.", len(ps)), fs...)
}

func fieldError(p Problem) amane.FieldError {
	return amane.FieldError{Line: p.Line, Record: p.Record, Field: p.Field, Rule: p.Rule, Expected: p.Expected, Found: p.Found}
}

func toDomain(d *Declaration, off int) *amane.Declaration {
	e := d.Employer
	out := &amane.Declaration{Affiliation: e.Affiliation, Period: e.Period,
		Header: amane.DeclarationHeader{Transfer: d.Header.TransferID, Name: e.Name, Activity: e.Activity, Address: e.Address,
			City: e.City, PostalCode: e.PostalCode, Agency: e.Agency, IssueDate: e.IssueDate, DueDate: e.DueDate,
			BlankB04: d.BlankB04, CRLF: d.LineEnding == "\r\n"},
		Lines: make([]amane.DeclarationLine, len(d.Lines)),
	}
	for i, l := range d.Lines {
		out.Lines[i] = amane.DeclarationLine{Imm: l.Number, Surname: l.Surname, FirstName: l.FirstName, Children: l.Children,
			AFToPay: l.AFToPay, AFToDeduct: l.AFToDeduct, AFNet: l.AFNet, AFToReturn: l.AFToReturn, Days: l.Days,
			Salary: l.RealSalary, Capped: l.CappedSalary, Situation: l.Situation, Line: l.LineNo + off}
	}
	for _, n := range d.New {
		out.New = append(out.New, amane.NewEmployeeLine{Imm: n.Number, Surname: n.Surname, FirstName: n.FirstName, CIN: n.CIN,
			Days: n.Days, Salary: n.RealSalary, Capped: n.CappedSalary, Line: n.LineNo + off})
	}
	return out
}

func fromDomain(d *amane.Declaration) *Declaration {
	h := d.Header
	out := &Declaration{
		Header: Header{TransferID: h.Transfer, Cat: CatDeclaration},
		Employer: Employer{Affiliation: d.Affiliation, Period: d.Period, Name: h.Name, Activity: h.Activity, Address: h.Address,
			City: h.City, PostalCode: h.PostalCode, Agency: h.Agency, IssueDate: h.IssueDate, DueDate: h.DueDate},
		BlankB04: h.BlankB04 && len(d.New) == 0, LineEnding: "\n",
	}
	if h.CRLF {
		out.LineEnding = "\r\n"
	}
	for _, l := range d.Lines {
		out.Lines = append(out.Lines, Line{Insured: Insured{Number: l.Imm, Surname: l.Surname, FirstName: l.FirstName,
			Children: l.Children, AFToPay: l.AFToPay, AFToDeduct: l.AFToDeduct, AFNet: l.AFNet},
			AFToReturn: l.AFToReturn, Days: l.Days, RealSalary: l.Salary, CappedSalary: l.Capped, Situation: l.Situation, LineNo: l.Line})
	}
	for _, n := range d.New {
		out.New = append(out.New, NewEmployee{Number: n.Imm, Surname: n.Surname, FirstName: n.FirstName, CIN: n.CIN,
			Days: n.Days, RealSalary: n.Salary, CappedSalary: n.Capped, LineNo: n.Line})
	}
	return out
}

// Check applies every rule of the exchange format to a declaration that did not come from a file (the
// JSON API): it is encoded and decoded again, and the ceiling checked. Problems on lines name the
// line's rank in "lignes" (record B02) or "nouveaux" (record B04); a declaration read from a file keeps
// its file lines.
func Check(d *amane.Declaration, ceiling int64) []amane.FieldError {
	fromFile := len(d.Lines) > 0 && d.Lines[0].Line > 0 || len(d.New) > 0 && d.New[0].Line > 0
	var ps []Problem
	fd := fromDomain(d)
	if fromFile { // the decoder checked the format already: only what needs the period's ceiling
		ps = CheckCeiling(fd, ceiling)
	} else {
		var b bytes.Buffer
		err := fd.Encode(&b)
		if err == nil {
			_, err = DecodeDeclaration(&b)
		}
		var rep *Report
		switch {
		case errors.As(err, &rep):
			ps = rep.Problems
		case err != nil:
			return []amane.FieldError{{Field: "declaration", Rule: err.Error()}}
		}
		// CheckCeiling numbers lines as the file would.
		for i := range fd.Lines {
			fd.Lines[i].LineNo = 3 + i
		}
		for i := range fd.New {
			fd.New[i].LineNo = 4 + len(fd.Lines) + i
		}
		ps = append(ps, CheckCeiling(fd, ceiling)...)
	}
	out := make([]amane.FieldError, len(ps))
	for i, p := range ps {
		out[i] = fieldError(p)
		if fromFile {
			continue
		}
		switch p.Record {
		case "B02":
			out[i].Line = p.Line - 2 // rank in "lignes"
		case "B04":
			out[i].Line = p.Line - 3 - len(fd.Lines) // rank in "nouveaux"
		default:
			out[i].Line = 0
		}
	}
	return out
}

// WriteDeclaration writes a stored declaration back as its DS file.
func WriteDeclaration(w io.Writer, d *amane.Declaration) error {
	for _, l := range d.Lines {
		if l.Surname == amane.ErasedLine {
			return amane.Errorf(amane.EINVALID, "A person declared in this declaration was erased: it cannot be written back whole.")
		}
	}
	for _, n := range d.New {
		if n.Surname == amane.ErasedLine {
			return amane.Errorf(amane.EINVALID, "A person declared in this declaration was erased: it cannot be written back whole.")
		}
		// A masked CIN ("AB••••67") would be transliterated to blanks: the file would not be the
		// one received. The caller asks for the CIN revealed (journaled) or gets no file.
		if strings.Contains(n.CIN, "•") {
			return amane.Invalid("The new employees' CIN is masked: ask for it revealed (reveal=cin) to write the file back as it was received.",
				amane.FieldError{Record: "B04", Field: "L_Num_CIN", Rule: "written only in clear"})
		}
	}
	return fromDomain(d).Encode(w)
}

// WritePreetabli writes a préétabli (A records) from a declaration's header and lines.
func WritePreetabli(w io.Writer, d *amane.Declaration) error {
	fd := fromDomain(d)
	p := &Preetabli{Header: Header{TransferID: fd.Header.TransferID, Cat: CatPreetabli}, Employer: fd.Employer, LineEnding: fd.LineEnding}
	for _, l := range fd.Lines {
		p.Insured = append(p.Insured, l.Insured)
	}
	return p.Encode(w)
}

// DeclarationFileName is the DS_ (or DSC<n>_) name of a declaration.
func DeclarationFileName(d *amane.Declaration) string {
	if d.Seq > 0 {
		return ComplementaryName(d.Seq, d.Affiliation, d.Period)
	}
	return DeclarationName(d.Affiliation, d.Period)
}

// SplitBulk cuts a file into its declarations — one starts at each B00 record — and calls fn with each
// declaration's bytes (as in the file, line ends included), the number of its first line, and whether
// the file held just this one. A bulk file is simply declarations back to back, which is what
// `amane synth --months` writes.
func SplitBulk(r io.Reader, fn func(b []byte, line int, single bool) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var cur []byte
	start, lineNo, count := 1, 0, 0
	for {
		ln, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer: keep reading it
			full := append([]byte(nil), ln...)
			for errors.Is(err, bufio.ErrBufferFull) {
				ln, err = br.ReadSlice('\n')
				full = append(full, ln...)
			}
			ln = full
		}
		if len(ln) > 0 {
			lineNo++
			if bytes.HasPrefix(ln, []byte("B00")) && len(cur) > 0 {
				if ferr := fn(cur, start, false); ferr != nil {
					return ferr
				}
				count++
				cur, start = nil, lineNo
			}
			cur = append(cur, ln...)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if len(cur) > 0 {
		return fn(cur, start, count == 0)
	}
	return nil
}
