package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"amane/synth"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func cmdSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	employers := fs.Int("employers", 2000, "number of employers")
	employees := fs.Int("employees", 20000, "number of insured employees")
	seed := fs.Uint64("seed", 1, "random seed: the same seed writes the same files")
	out := fs.String("out", "", "output directory")
	months := fs.Int("months", 0, "also write this many months of Damancom declarations (DIR/declarations/DS_BULK_AAAAMM.txt)")
	lastPeriod := fs.String("last-period", lastPeriods(time.Now().UTC(), 1)[0], "last month of the declarations, AAAAMM")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" || *employers <= 0 || *employees < 0 || *months < 0 {
		return fmt.Errorf("%w: amane synth --employers N --employees M --seed S --out DIR [--months K [--last-period AAAAMM]]", errUsage)
	}
	last, err := time.Parse("200601", *lastPeriod)
	if err != nil || len(*lastPeriod) != 6 {
		return fmt.Errorf("%w: --last-period must be a month AAAAMM", errUsage)
	}
	periods := make([]string, *months)
	for i := range periods {
		periods[i] = last.AddDate(0, i-*months+1, 0).Format("200601")
	}
	isTerm := false
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		isTerm = true
	}
	var progress func(done, total int)
	if isTerm {
		bar := progressbar.Default(int64(*employers+*employees), "synth")
		defer bar.Finish()
		progress = func(done, total int) { bar.Set(done) }
	}
	start := time.Now()
	if err := writeSynth(ctx, synth.Config{Employers: *employers, Employees: *employees, Seed: *seed}, *out, progress); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s and %s (%d employers, %d employees, seed %d) in %s.\n",
		filepath.Join(*out, "ADHERENTS.csv"), filepath.Join(*out, "SALARIES.csv"), *employers, *employees, *seed, time.Since(start).Round(time.Millisecond))
	if len(periods) == 0 {
		return nil
	}

	// Declarations: read the files just written back, side by side, one bulk file per month.
	start = time.Now()
	progress = nil
	if isTerm {
		bar := progressbar.Default(int64(*employers*len(periods)), "declarations")
		defer bar.Finish()
		progress = func(done, total int) { bar.Set(done) }
	}
	dir, tot, err := writeSynthDeclarations(ctx, *out, periods, *seed, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %d declaration files (%s to %s) in %s: %d declarations, %d insured lines, %d bytes, in %s.\n",
		tot.Files, periods[0], periods[len(periods)-1], dir, tot.Declarations, tot.Lines, tot.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

// lastPeriods returns the k months ending with the month before now, oldest first.
func lastPeriods(now time.Time, k int) []string {
	last := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, k)
	for i := range out {
		out[i] = last.AddDate(0, i-k+1, 0).Format("200601")
	}
	return out
}

// writeSynthDeclarations writes OUT/declarations/DS_BULK_<period>.txt from OUT's CSV files and returns
// the directory and the files' paths with the totals.
func writeSynthDeclarations(ctx context.Context, out string, periods []string, seed uint64, progress func(done, total int)) (string, synth.DeclarationTotals, error) {
	var tot synth.DeclarationTotals
	dir := filepath.Join(out, "declarations")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", tot, err
	}
	a, err := os.Open(filepath.Join(out, "ADHERENTS.csv"))
	if err != nil {
		return "", tot, err
	}
	defer a.Close()
	s, err := os.Open(filepath.Join(out, "SALARIES.csv"))
	if err != nil {
		return "", tot, err
	}
	defer s.Close()
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	tot, err = synth.WriteDeclarationsTotals(ctx, a, s, periods, seed, func(p string) (io.Writer, error) {
		f, err := os.Create(filepath.Join(dir, "DS_BULK_"+p+".txt"))
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}, progress)
	if err != nil {
		return "", tot, err
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return "", tot, err
		}
	}
	files = nil
	return dir, tot, nil
}

func writeSynth(ctx context.Context, cfg synth.Config, dir string, progress func(done, total int)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	a, err := os.Create(filepath.Join(dir, "ADHERENTS.csv"))
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := os.Create(filepath.Join(dir, "SALARIES.csv"))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := synth.Write(ctx, cfg, a, s, progress); err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	return s.Close()
}
