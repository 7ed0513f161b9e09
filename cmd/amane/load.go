package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"amane"
	"amane/csvfile"
	"amane/load"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.NArg() > 2 {
		return fmt.Errorf("%w: amane load --data DIR ADHERENTS.csv SALARIES.csv", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	res, elapsed, err := loadFiles(ctx, reg, fs.Args(), stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loaded %d rows in %s (%.0f rows/s): %d employers added, %d already present; %d insured added, %d already present; %d employments.\n",
		res.Rows, elapsed.Round(time.Millisecond), float64(res.Rows)/elapsed.Seconds(), res.EmployersAdded, res.EmployersKept,
		res.EmployeesAdded, res.EmployeesKept, res.EmploymentsAdded)
	return nil
}

// loadFiles recognises each file by its header row, then loads employers before employees, with a
// progress bar when stderr is a terminal.
func loadFiles(ctx context.Context, reg *registry, paths []string, stderr io.Writer) (*load.Result, time.Duration, error) {
	var adh, sal *load.Source
	var total int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		st, _ := f.Stat()
		total += st.Size()
		head, _ := bufio.NewReader(f).ReadString('\n')
		f.Seek(0, io.SeekStart)
		head = strings.TrimPrefix(strings.TrimRight(head, "\r\n"), "\ufeff")
		src := &load.Source{Name: filepath.Base(p), R: f}
		switch head {
		case strings.Join(csvfile.EmployerColumns, ","):
			adh = src
		case strings.Join(csvfile.EmployeeColumns, ","):
			sal = src
		default:
			return nil, 0, amane.Invalid("Unrecognised file.", amane.FieldError{File: filepath.Base(p), Line: 1, Field: "header",
				Rule: "must be the header of ADHERENTS.csv (" + strings.Join(csvfile.EmployerColumns, ",") + ") or of SALARIES.csv (" + strings.Join(csvfile.EmployeeColumns, ",") + ")"})
		}
	}
	opt := load.Options{}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.DefaultBytes(total, "loading")
		defer bar.Finish()
		opt.Progress = func(n int64) { bar.Add64(n) }
	}
	start := time.Now()
	ctx = systemContext(ctx, "load")
	res, err := load.Load(ctx, reg.store, reg.gate, adh, sal, opt)
	if err == nil {
		err = reg.gate.RecordLoad(ctx, res.Rows)
	}
	return res, time.Since(start), err
}
