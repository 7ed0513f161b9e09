package main

// Canary records (issue 7): invented employers and their insured employees, planted in the registry
// through the same bulk write path as the synthetic population and drawn from the same generator
// (package synth), so that no stored field, name pattern, identifier format or date tells them apart.
// Only DIR/canaries (0600) says which records they are; the sentinel loads it (readCanaries) and
// alerts at the first touch of any of them.
//
// Nothing printed names a canary: the console may be logged, and a canary whose name or number
// leaks is a canary an attacker can avoid.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"amane"
	"amane/load"
	"amane/sentinel"
	"amane/synth"
)

// canariesFile, in the data directory, lists the canaries' record references ("employer/7",
// "employee/42"), one a line, as sentinel.ReadCanaries reads them.
const canariesFile = "canaries"

// The journal names the command a CLI write runs for. Canaries are written as a load and declared as
// a declaration, and journaled under those names: "cli:canary plant" would tell every reader of the
// journal (auditors, the DPO) which records are canaries. The principal is the system, which is true.
const (
	canaryLoadCommand    = "load"
	canaryDeclareCommand = "declare"
)

// Canary employers' sizes when --employees-per is not given: small employers, as most real ones are.
const (
	canaryMinEmployees = 3
	canaryMaxEmployees = 12
)

// declaredPeriodsProbe bounds how many employers are looked at to learn which months the registry has
// declarations for.
const declaredPeriodsProbe = 256

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

	pl, err := plantCanaries(ctx, reg, *count, *per)
	if err != nil {
		return err
	}
	path := filepath.Join(reg.dir, canariesFile)
	header := fmt.Sprintf("# planted %s count %d", time.Now().UTC().Format(time.RFC3339), *count)
	if err := appendCanaries(path, header, pl.refs); err != nil {
		return fmt.Errorf("the canaries are in the store but their list could not be written (%w); their references were not printed", err)
	}
	fmt.Fprintf(stdout, "Planted %d canary employers and %d insured employees; their references are in %s.\n",
		*count, len(pl.refs)-*count, path)

	// A history like their neighbours': the months the registry holds declarations for.
	periods, err := declaredPeriods(ctx, reg.store)
	if err != nil {
		return fmt.Errorf("canaries planted, but their declarations were not: %w", err)
	}
	if len(periods) == 0 {
		fmt.Fprintln(stdout, "The registry holds no declarations: none declared for the canaries.")
		return nil
	}
	rep, err := declareCanaries(ctx, reg, pl, periods)
	if err != nil {
		return fmt.Errorf("canaries planted, but their declarations were not: %w", err)
	}
	if rep.Rejected > 0 {
		return amane.Errorf(amane.EINTERNAL, "Canaries planted, but %d of their declarations were rejected.", rep.Rejected)
	}
	fmt.Fprintf(stdout, "Declared %d months (%s to %s) for them: %d declarations.\n", len(periods), periods[0], periods[len(periods)-1], rep.Accepted)
	return nil
}

// planted is what a plant wrote: the two CSV files loaded (kept to declare for them) and the
// references of the records, employers first.
type planted struct {
	adherents, salaries []byte
	refs                []string
	seed                uint64
}

// plantCanaries generates count canary employers and their employees and loads them, trying again
// with fresh draws when an identifier happens to be taken already (the load then writes nothing).
func plantCanaries(ctx context.Context, reg *registry, count, per int) (*planted, error) {
	sys := systemContext(ctx, canaryLoadCommand)
	var lastErr error
	for range 4 {
		pl, affs, imms, err := drawCanaries(ctx, count, per)
		if err != nil {
			return nil, err
		}
		free, err := canariesFree(sys, reg, affs, imms)
		if err != nil {
			return nil, err
		}
		if !free {
			lastErr = amane.Errorf(amane.ECONFLICT, "Drawn canary identifiers were taken.")
			continue
		}
		res, err := load.Load(sys, reg.store, reg.gate,
			&load.Source{Name: "ADHERENTS.csv", R: bytes.NewReader(pl.adherents)},
			&load.Source{Name: "SALARIES.csv", R: bytes.NewReader(pl.salaries)}, load.Options{})
		if amane.ErrorCode(err) == amane.ECONFLICT { // a CIN, RIB or e-mail taken: nothing was written
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := reg.gate.RecordLoad(sys, res.Rows); err != nil {
			return nil, err
		}
		if res.EmployersAdded != len(affs) || res.EmployeesAdded != len(imms) { // only if another writer raced us
			return nil, amane.Errorf(amane.ECONFLICT, "Another writer added some of the drawn identifiers meanwhile; run amane canary list and check the registry.")
		}
		for _, aff := range affs {
			id, err := reg.store.EmployerIDByAffiliation(sys, aff)
			if err != nil {
				return nil, err
			}
			pl.refs = append(pl.refs, "employer/"+strconv.FormatInt(id, 10))
		}
		for _, imm := range imms {
			id, err := reg.gate.ResolveInsured(sys, imm)
			if err != nil {
				return nil, err
			}
			pl.refs = append(pl.refs, "employee/"+strconv.FormatInt(id, 10))
		}
		return pl, nil
	}
	return nil, fmt.Errorf("four draws of canaries met identifiers taken already: %w", lastErr)
}

// canariesFree reports whether no drawn affiliation or immatriculation is in the store (a load would
// otherwise keep the existing record and attach canaries to it). Nothing is decrypted or journaled.
func canariesFree(ctx context.Context, reg *registry, affs, imms []string) (bool, error) {
	for _, aff := range affs {
		_, err := reg.store.EmployerIDByAffiliation(ctx, aff)
		if err == nil {
			return false, nil
		} else if amane.ErrorCode(err) != amane.ENOTFOUND {
			return false, err
		}
	}
	for _, imm := range imms {
		_, err := reg.gate.ResolveInsured(ctx, imm)
		if err == nil {
			return false, nil
		} else if amane.ErrorCode(err) != amane.ENOTFOUND {
			return false, err
		}
	}
	return true, nil
}

// drawCanaries runs the synthetic generator under a secret random seed over a population of at least
// 2,000 employers (the demo's size) and keeps count of its employers, drawn at random among those the
// size asked for that are not struck off: every field, the agency (weighted as the generator weights
// agencies), the dates and the identifiers' formats and check digits are then exactly those of the
// synthetic population. It returns the two CSV files holding them, their affiliations and the
// employees' immatriculations.
func drawCanaries(ctx context.Context, count, per int) (*planted, []string, []string, error) {
	fits := func(n int) bool { return n >= canaryMinEmployees && n <= canaryMaxEmployees }
	if per > 0 {
		fits = func(n int) bool { return n == per }
	}
	employers := max(2000, 50*count)
	for range 6 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, nil, err
		}
		// The seed is secret: with it, anyone could run the generator and list the canaries.
		seed := binary.LittleEndian.Uint64(b[:])
		var a, s bytes.Buffer
		if err := synth.Write(ctx, synth.Config{Employers: employers, Employees: 10 * employers, Seed: seed}, &a, &s, nil); err != nil {
			return nil, nil, nil, err
		}
		adh, err := csv.NewReader(&a).ReadAll()
		if err != nil {
			return nil, nil, nil, err
		}
		sal, err := csv.NewReader(&s).ReadAll()
		if err != nil {
			return nil, nil, nil, err
		}
		affCol, stateCol := slices.Index(adh[0], "affiliation"), slices.Index(adh[0], "etat_compte")
		empCol := slices.Index(sal[0], "affiliation_employeur")
		size := map[string]int{}
		for _, r := range sal[1:] {
			size[r[empCol]]++
		}
		var candidates []int // rows of adh
		for i, r := range adh[1:] {
			if r[stateCol] != "radie" && fits(size[r[affCol]]) {
				candidates = append(candidates, i+1)
			}
		}
		if len(candidates) < count {
			employers *= 2
			continue
		}
		mrand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
		chosen := candidates[:count]
		slices.Sort(chosen) // the generator's order: employees are grouped by employer in it
		keep := map[string]bool{}
		adhOut := [][]string{adh[0]}
		var affs []string
		for _, i := range chosen {
			adhOut = append(adhOut, adh[i])
			affs = append(affs, adh[i][affCol])
			keep[adh[i][affCol]] = true
		}
		salOut := [][]string{sal[0]}
		var imms []string
		immCol := slices.Index(sal[0], "immatriculation")
		for _, r := range sal[1:] {
			if keep[r[empCol]] {
				salOut = append(salOut, r)
				imms = append(imms, r[immCol])
			}
		}
		pl := &planted{seed: seed}
		if pl.adherents, err = writeCSV(adhOut); err != nil {
			return nil, nil, nil, err
		}
		if pl.salaries, err = writeCSV(salOut); err != nil {
			return nil, nil, nil, err
		}
		return pl, affs, imms, nil
	}
	return nil, nil, nil, amane.Errorf(amane.EINVALID, "Too few synthetic employers of this size: choose a smaller --employees-per.")
}

func writeCSV(rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// declaredPeriods returns the months (AAAAMM, oldest first) for which the first employers of the
// registry hold a principal declaration: the history a canary employer should have too. It reads
// only the store's clear aggregates.
func declaredPeriods(ctx context.Context, st dataStore) ([]string, error) {
	seen := map[string]bool{}
	for id := int64(1); id <= declaredPeriodsProbe; id++ {
		if _, err := st.EmployerIdentityByID(ctx, id); amane.ErrorCode(err) == amane.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		ps, err := st.DeclaredPeriods(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			seen[p] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// declareCanaries writes the canaries' declarations for periods with the synthetic generator (as
// `amane synth --months` does for the population) and submits them through the gate.
func declareCanaries(ctx context.Context, reg *registry, pl *planted, periods []string) (*load.DeclarationReport, error) {
	bufs := map[string]*bytes.Buffer{}
	err := synth.WriteDeclarations(ctx, bytes.NewReader(pl.adherents), bytes.NewReader(pl.salaries), periods, pl.seed,
		func(p string) (io.Writer, error) { bufs[p] = &bytes.Buffer{}; return bufs[p], nil }, nil)
	if err != nil {
		return nil, err
	}
	var sources []load.Source
	for _, p := range periods {
		sources = append(sources, load.Source{Name: "DS_BULK_" + p + ".txt", R: bufs[p]})
	}
	return load.Declarations(systemContext(ctx, canaryDeclareCommand), reg.gate, sources, load.DeclarationOptions{})
}

// appendCanaries appends a header line and the references to the list, creating it owner-only.
func appendCanaries(path, header string, refs []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an existing list too: it is what tells canaries apart
		f.Close()
		return err
	}
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, r := range refs {
		b.WriteString(r + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readCanaries returns the canaries' record references listed in DIR/canaries, or nil if there is no
// such file: what the sentinel is given (sentinel.New(cfg, refs)).
func readCanaries(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, canariesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	refs, err := sentinel.ReadCanaries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, canariesFile), err)
	}
	return refs, nil
}

// canaryEntry is one canary as the security officer sees it: no personal field, only the reference,
// its kind and, for an employer, its agency.
type canaryEntry struct {
	Record string `json:"record"`
	Kind   string `json:"kind"`
	Agency string `json:"agency,omitempty"`
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
	refs, err := readCanaries(d.dir)
	if err != nil {
		return err
	}
	// The store alone, without the keys: the agency is in clear, and nothing else is needed.
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return err
	}
	defer st.Close()
	list := make([]canaryEntry, 0, len(refs))
	for _, ref := range refs {
		kind, id, ok := strings.Cut(ref, "/")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n <= 0 || (kind != "employer" && kind != "employee") {
			return amane.Invalid("A canary reference is malformed.", amane.FieldError{File: canariesFile,
				Field: "record", Rule: fmt.Sprintf("%q must be employer/ID or employee/ID", ref)})
		}
		e := canaryEntry{Record: ref, Kind: kind}
		if kind == "employer" {
			r, err := st.EmployerIdentityByID(ctx, n)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			e.Agency = r.Agency
		}
		list = append(list, e)
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "No canaries (%s does not list any).\n", filepath.Join(d.dir, canariesFile))
		return nil
	}
	for _, e := range list {
		fmt.Fprintf(stdout, "%-20s %-9s %s\n", e.Record, e.Kind, e.Agency)
	}
	return nil
}
