package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"amane"
	"amane/canary"
)

// cmdCanary is amane canary plant|list: the flags and the printing; the planting is package canary.
// Nothing printed names a canary: the console may be logged, and a canary whose name or number leaks
// is a canary an attacker can avoid.
func cmdCanary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "plant":
			return cmdCanaryPlant(ctx, args[1:], stdout, stderr)
		case "list":
			return cmdCanaryList(ctx, args[1:], stdout, stderr)
		}
	}
	return fmt.Errorf("%w: amane canary plant --data DIR --count N [--employees-per K] | list --data DIR [--json]", errUsage)
}

func cmdCanaryPlant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("canary plant", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	count := fs.Int("count", 0, "number of canary employers to plant")
	per := fs.Int("employees-per", 0, "insured employees per canary employer (default: a random 3–12)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case d.dir == "":
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *count <= 0:
		return fmt.Errorf("%w: --count must be at least 1", errUsage)
	case *per < 0 || *per > 1000:
		return fmt.Errorf("%w: --employees-per must be between 1 and 1000", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()

	planter := &canary.Planter{Store: reg.store, Gate: reg.gate, System: systemContext}
	pl, err := planter.Plant(ctx, *count, *per)
	if err != nil {
		return err
	}
	path := filepath.Join(reg.dir, canary.File)
	if err := canary.AppendList(path, time.Now(), pl); err != nil {
		return fmt.Errorf("the canaries are in the store but their list could not be written (%w); their references were not printed", err)
	}
	fmt.Fprintf(stdout, "Planted %d canary employers and %d insured employees; their references are in %s.\n",
		*count, len(pl.Refs)-*count, path)

	// A history like their neighbours': the months the registry holds declarations for.
	periods, err := canary.DeclaredPeriods(ctx, reg.store)
	if err != nil {
		return fmt.Errorf("canaries planted, but their declarations were not: %w", err)
	}
	if len(periods) == 0 {
		fmt.Fprintln(stdout, "The registry holds no declarations: none declared for the canaries.")
		return nil
	}
	rep, err := planter.Declare(ctx, pl, periods)
	if err != nil {
		return fmt.Errorf("canaries planted, but their declarations were not: %w", err)
	}
	if rep.Rejected > 0 {
		return amane.Errorf(amane.EINTERNAL, "Canaries planted, but %d of their declarations were rejected.", rep.Rejected)
	}
	fmt.Fprintf(stdout, "Declared %d months (%s to %s) for them: %d declarations.\n", len(periods), periods[0], periods[len(periods)-1], rep.Accepted)
	return nil
}

func cmdCanaryList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("canary list", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	refs, err := canary.ReadList(d.dir)
	if err != nil {
		return err
	}
	// The store alone, without the keys: the agency is in clear, and nothing else is needed.
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := canary.List(ctx, st, refs)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "No canaries (%s does not list any).\n", filepath.Join(d.dir, canary.File))
		return nil
	}
	for _, e := range list {
		fmt.Fprintf(stdout, "%-20s %-9s %s\n", e.Record, e.Kind, e.Agency)
	}
	return nil
}
