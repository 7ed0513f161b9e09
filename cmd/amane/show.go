package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"amane"
)

func cmdShow(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		return fmt.Errorf("%w: amane %s show …", errUsage, kind)
	}
	fs := flag.NewFlagSet(kind+" show", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "employer's affiliation number")
	cin := fs.String("cin", "", "insured person's CIN (or passport number)")
	imm := fs.String("imm", "", "insured person's immatriculation number")
	reveal := fs.String("reveal", "", "fields to show in clear instead of masked (cin, passeport, representant.cin, email, telephone, rib, mandataire, or *); journaled")
	cursor := fs.String("cursor", "", "employer show: one page of employees (at most 50), from the \"next\" of the page before; without it, every page")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	ctx = systemContext(ctx, kind+" show")
	if *reveal != "" {
		ctx = amane.NewContextWithReveal(ctx, strings.Split(*reveal, ",")...)
	}
	var v any
	switch {
	case kind == "employer" && *aff != "":
		v, err = employerShow(ctx, reg, *aff, *cursor)
	case kind == "employee" && *imm != "" && *cin == "":
		v, err = reg.gate.Employee(ctx, *imm)
	case kind == "employee" && *cin != "" && *imm == "":
		var list []amane.Employee
		if list, err = reg.gate.EmployeesByCIN(ctx, *cin); err == nil {
			if len(list) == 0 {
				err = amane.Errorf(amane.ENOTFOUND, "No insured person holds this CIN.")
			} else if len(list) == 1 {
				v = list[0]
			} else {
				v = list
			}
		}
	case kind == "employer":
		return fmt.Errorf("%w: amane employer show --data DIR --affiliation N", errUsage)
	default:
		return fmt.Errorf("%w: amane employee show --data DIR (--cin X | --imm N)", errUsage)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// employerShow reads an employer through the gate a page of employees at a time (each page journaled
// per person, as any principal's): the page at cursor, or, without one, every page gathered — the
// administrator at the console sees the whole employer, as before pages.
func employerShow(ctx context.Context, reg *registry, aff, cursor string) (*amane.EmployerWithEmployees, error) {
	e, err := reg.gate.EmployerPage(ctx, aff, amane.Page{Cursor: cursor})
	if err != nil || cursor != "" {
		return e, err
	}
	for next := e.Next; next != ""; {
		p, err := reg.gate.EmployerPage(ctx, aff, amane.Page{Cursor: next})
		if err != nil {
			return nil, err
		}
		e.Employees = append(e.Employees, p.Employees...)
		next = p.Next
	}
	e.Next = ""
	return e, nil
}
