package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"amane"
	"amane/damancom"
	"amane/load"
)

// cmdDeclare loads Damancom declaration files (single or bulk) through the gate.
func cmdDeclare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("declare", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	report := fs.String("report", "", "write the full report (JSON) to this file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: amane declare --data DIR FILE...", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	rep, elapsed, err := declareFiles(ctx, reg, fs.Args(), stderr)
	if err != nil {
		return err
	}
	if *report != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*report, append(b, '\n'), 0o600); err != nil {
			return err
		}
	}
	for _, r := range rep.Rejections {
		fmt.Fprintf(stderr, "%s: declaration %s %s rejected", r.File, r.Affiliation, r.Period)
		if r.Message != "" {
			fmt.Fprintf(stderr, ": %s", r.Message)
		}
		fmt.Fprintln(stderr)
		for _, p := range r.Problems {
			p.File = r.File
			fmt.Fprintf(stderr, "  %s\n", p.String())
		}
	}
	fmt.Fprintf(stdout, "%d declarations in %s (%.0f lines/s): %d accepted (%d lines), %d already received, %d rejected; %d immatriculation requests, %d pending employments.\n",
		rep.Declarations, elapsed.Round(time.Millisecond), float64(rep.Lines)/elapsed.Seconds(), rep.Accepted, rep.Lines, rep.Duplicates,
		rep.Rejected, rep.Requests, rep.Pending)
	if rep.Rejected > 0 {
		return amane.Errorf(amane.EINVALID, "%d declarations rejected; the others are stored.", rep.Rejected)
	}
	return nil
}

// declareFiles loads declaration files with a progress bar when stderr is a terminal.
func declareFiles(ctx context.Context, reg *registry, paths []string, stderr io.Writer) (*load.DeclarationReport, time.Duration, error) {
	var sources []load.Source
	var total int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		total += st.Size()
		sources = append(sources, load.Source{Name: filepath.Base(p), R: bufio.NewReaderSize(f, 1<<20)})
	}
	opt := load.DeclarationOptions{}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.DefaultBytes(total, "declarations")
		defer bar.Finish()
		opt.Progress = func(n int64) { bar.Add64(n) }
	}
	start := time.Now()
	rep, err := load.Declarations(systemContext(ctx, "declare"), reg.gate, sources, opt)
	return rep, time.Since(start), err
}

// cmdDeclaration is `amane declaration show|export`.
func cmdDeclaration(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "seal" {
		return cmdDeclarationSeal(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "show" && args[0] != "export") {
		return fmt.Errorf("%w: amane declaration show|export --data DIR --affiliation N --period AAAAMM", errUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("declaration "+verb, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "employer's affiliation number")
	period := fs.String("period", "", "period AAAAMM")
	out := fs.String("out", "", "export: the file to write (default DS_<affiliation>_<period>.txt)")
	seq := fs.Int("complementaire", 0, "export: which declaration of the period (0 principal, n the n-th complementary)")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	if *aff == "" || *period == "" {
		return fmt.Errorf("%w: amane declaration %s --data DIR --affiliation N --period AAAAMM", errUsage, verb)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	dctx := systemContext(ctx, "declaration "+verb)
	if verb == "export" {
		// The file goes back as it came, byte for byte: the new employees' CIN in clear (journaled as
		// revealed), never masked into blanks.
		dctx = amane.NewContextWithReveal(dctx, amane.FieldCIN)
	}
	ds, err := reg.gate.Declaration(dctx, *aff, *period)
	if err != nil {
		return err
	}
	if verb == "show" {
		return printJSON(stdout, ds)
	}
	var decl *amane.Declaration
	for i := range ds {
		if ds[i].Seq == *seq {
			decl = &ds[i]
		}
	}
	if decl == nil {
		return amane.Errorf(amane.ENOTFOUND, "No declaration %d for this period.", *seq)
	}
	name := *out
	if name == "" {
		name = damancom.DeclarationFileName(decl)
	}
	return writeFileWith(name, func(w io.Writer) error { return damancom.WriteDeclaration(w, decl) }, stdout)
}

// cmdPreetabli writes what CNSS sends an employer for a period.
func cmdPreetabli(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("preetabli", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "employer's affiliation number")
	period := fs.String("period", "", "period AAAAMM")
	out := fs.String("out", "", "the file to write (default AFFEBDS_<affiliation>_<period>.txt)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *aff == "" || *period == "" {
		return fmt.Errorf("%w: amane preetabli --data DIR --affiliation N --period AAAAMM --out FILE", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	p, err := reg.gate.Preetabli(systemContext(ctx, "preetabli"), *aff, *period)
	if err != nil {
		return err
	}
	name := *out
	if name == "" {
		name = damancom.PreetabliName(p.Affiliation, p.Period)
	}
	return writeFileWith(name, func(w io.Writer) error { return damancom.WritePreetabli(w, p) }, stdout)
}

// writeFileWith writes a file owner-only (it holds personal data) and says so.
func writeFileWith(name string, write func(io.Writer) error, stdout io.Writer) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s.\n", name)
	return nil
}

// cmdEmployment is `amane employment validate`: a pending employment (opened by a B04 line naming a
// person declared elsewhere) validated once the identity the employer declared matches the
// registry's. The reference names the case it is decided under.
func cmdEmployment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		return fmt.Errorf("%w: amane employment validate --data DIR --affiliation N --imm N --reference REF", errUsage)
	}
	fs := flag.NewFlagSet("employment validate", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "employer's affiliation number")
	imm := fs.String("imm", "", "the insured person's immatriculation")
	ref := fs.String("reference", "", "the case the validation is decided under")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	if *aff == "" || *imm == "" || *ref == "" {
		return fmt.Errorf("%w: amane employment validate --data DIR --affiliation N --imm N --reference REF", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	vctx := amane.NewContextWithPurpose(systemContext(ctx, "employment validate"), amane.Purpose{Code: "cli", Reference: *ref})
	if err := reg.gate.ValidateEmployment(vctx, *aff, *imm); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Employment validated.")
	return nil
}

// cmdDeclarationSeal is `amane declaration seal`: the declarations stored before their figures were
// sealed get their seal once their lines confirm them (opening the registry does it already); it
// says how many are left refused, whose figures their lines do not confirm.
func cmdDeclarationSeal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("declaration seal", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	_, bad, err := reg.gate.SealLegacyDeclarations(systemContext(ctx, "declaration seal"))
	if err != nil {
		return err
	}
	if bad > 0 {
		return amane.Errorf(amane.EINVALID, "%d declarations stored before seals existed are not confirmed by their lines (changed in the store, or a person erased since): they stay refused.", bad)
	}
	fmt.Fprintln(stdout, "Every declaration is sealed.")
	return nil
}
