package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"amane"
)

// cmdCase is amane case open|assign|close|list|show: the flags and the printing; the rules are the
// gate's (OpenCase, AssignCase, CloseCase, Cases, Case), acting as the system principal. Records are
// named by immatriculation (--employee) or affiliation (--employer), resolved to the internal
// references a case holds, or by reference (--record employee/ID).
func cmdCase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "open":
			return cmdCaseOpen(ctx, args[1:], stdout, stderr)
		case "assign":
			return cmdCaseAssign(ctx, args[1:], stdout, stderr)
		case "close":
			return cmdCaseClose(ctx, args[1:], stdout, stderr)
		case "list":
			return cmdCaseList(ctx, args[1:], stdout, stderr)
		case "show":
			return cmdCaseShow(ctx, args[1:], stdout, stderr)
		}
	}
	return fmt.Errorf("%w: amane case open|assign|close|list|show --data DIR … (see amane help)", errUsage)
}

// caseRecords are the repeatable flags that name the records of a case.
type caseRecords struct{ employees, employers, refs listFlag }

func (r *caseRecords) register(fs *flag.FlagSet) {
	fs.Var(&r.employees, "employee", "an insured person the case concerns, by immatriculation (repeatable)")
	fs.Var(&r.employers, "employer", "an employer the case concerns, by affiliation (repeatable)")
	fs.Var(&r.refs, "record", "a record the case concerns, by internal reference employee/ID or employer/ID (repeatable)")
}

// resolve turns immatriculations and affiliations into internal references.
func (r *caseRecords) resolve(ctx context.Context, reg *registry) ([]string, error) {
	out := append([]string(nil), r.refs...)
	for _, imm := range r.employees {
		id, err := reg.gate.ResolveInsured(ctx, imm)
		if err != nil {
			return nil, err
		}
		out = append(out, "employee/"+strconv.FormatInt(id, 10))
	}
	for _, aff := range r.employers {
		id, err := reg.store.EmployerIDByAffiliation(ctx, aff)
		if err != nil {
			return nil, err
		}
		out = append(out, "employer/"+strconv.FormatInt(id, 10))
	}
	return out, nil
}

func cmdCaseOpen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "amane case open --data DIR --type T --number XXX-AAAA/NNNN --origin O (--employee IMM | --employer AFF | --record REF)... [--staff P]... [--team AGENCY]"
	fs := flag.NewFlagSet("case open", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	typ := fs.String("type", "", "case type: immatriculation, demande, reclamation, controle, contentieux, droits, traitement")
	number := fs.String("number", "", "the case number, XXX-AAAA/NNNN with its type's prefix (DOS, PRE, REC, CTL, CTX, DRT, TRT)")
	origin := fs.String("origin", "", "the outside event: guichet, courrier, portail, telephone, mission, planification, declaration/ID, imm_request/ID")
	team := fs.String("team", "", "the agency whose staff the case is assigned to")
	var staff listFlag
	fs.Var(&staff, "staff", "a principal assigned: account/ID or token/ID (repeatable)")
	var recs caseRecords
	recs.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *typ == "" || *number == "" || *origin == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	sys := systemContext(ctx, "case open")
	records, err := recs.resolve(sys, reg)
	if err != nil {
		return err
	}
	c := &amane.Case{Type: *typ, Number: *number, Origin: *origin, Records: records, Staff: staff, Team: *team}
	if err := reg.gate.OpenCase(sys, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Case %s opened (%d records).\n", c.Number, len(c.Records))
	return nil
}

func cmdCaseAssign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "amane case assign --data DIR --number N [--staff P]... [--team AGENCY] [--employee IMM | --employer AFF | --record REF]..."
	fs := flag.NewFlagSet("case assign", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	number := fs.String("number", "", "the case number")
	team := fs.String("team", "", "the agency whose staff the case is assigned to")
	var staff listFlag
	fs.Var(&staff, "staff", "a principal assigned: account/ID or token/ID (repeatable)")
	var recs caseRecords
	recs.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	nrecs := len(recs.employees) + len(recs.employers) + len(recs.refs)
	if *number == "" || (len(staff) == 0 && *team == "" && nrecs == 0) || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	sys := systemContext(ctx, "case assign")
	records, err := recs.resolve(sys, reg)
	if err != nil {
		return err
	}
	if len(staff) > 0 || *team != "" {
		if err := reg.gate.AssignCase(sys, *number, staff, *team); err != nil {
			return err
		}
	}
	for _, rec := range records {
		if err := reg.gate.AddCaseRecord(sys, *number, rec); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Case %s assigned.\n", *number)
	return nil
}

func cmdCaseClose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return caseNumberCommand(ctx, "close", args, stderr, func(ctx context.Context, reg *registry, number string) error {
		if err := reg.gate.CloseCase(ctx, number); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Case %s closed.\n", number)
		return nil
	})
}

// caseNumberCommand runs `amane case VERB --data DIR --number N`: the flags, the registry and the
// system principal acting as `case VERB`, then fn.
func caseNumberCommand(ctx context.Context, verb string, args []string, stderr io.Writer, fn func(context.Context, *registry, string) error) error {
	fs := flag.NewFlagSet("case "+verb, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	number := fs.String("number", "", "the case number")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *number == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: amane case %s --data DIR --number N", errUsage, verb)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	return fn(systemContext(ctx, "case "+verb), reg, *number)
}

func cmdCaseList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("case list", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	staff := fs.String("staff", "", "only cases assigned to this principal (or to --team)")
	team := fs.String("team", "", "only cases assigned to this agency (or to --staff)")
	limit := fs.Int("limit", amane.MaxPage, "at most this many cases")
	var recs caseRecords
	recs.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 || len(recs.employees)+len(recs.employers)+len(recs.refs) > 1 {
		return fmt.Errorf("%w: amane case list --data DIR [--staff P] [--team AGENCY] [--employee IMM | --employer AFF | --record REF] [--limit N]", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	sys := systemContext(ctx, "case list")
	records, err := recs.resolve(sys, reg)
	if err != nil {
		return err
	}
	f := amane.CaseFilter{Principal: *staff, Team: *team}
	if len(records) == 1 {
		f.Record = records[0]
	}
	cases, err := reg.gate.Cases(sys, f, *limit)
	if err != nil {
		return err
	}
	if cases == nil {
		cases = []amane.Case{}
	}
	return printJSON(stdout, cases)
}

func cmdCaseShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return caseNumberCommand(ctx, "show", args, stderr, func(ctx context.Context, reg *registry, number string) error {
		c, err := reg.gate.Case(ctx, number)
		if err != nil {
			return err
		}
		return printJSON(stdout, c)
	})
}
