// Package canary plants canary records (issue 7): invented employers and their insured employees,
// written into the registry through the same bulk write path as the synthetic population and drawn
// from the same generator (package synth), so that no stored field, name pattern, identifier format
// or date tells them apart. Only the list DIR/canaries (File, 0600) says which records they are; the
// sentinel loads it (ReadList, then sentinel.New) and suspends whoever touches any of them.
//
// Nothing here names a canary in the journal or in an error: the journal may be read by auditors and
// the DPO, the console may be logged, and a canary whose name or number leaks is a canary an attacker
// can avoid.
package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/csv"
	"errors"
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
	"amane/gate"
	"amane/load"
	"amane/sentinel"
	"amane/synth"
)

// File, in the data directory, lists the canaries' record references ("employer/7", "employee/42"),
// one a line, as sentinel.ReadCanaries reads them.
const File = "canaries"

// The journal names the command a CLI write runs for. Canaries are written as a load and declared as
// a declaration, and journaled under those names: "cli:canary plant" would tell every reader of the
// journal (auditors, the DPO) which records are canaries. The principal is the system, which is true.
const (
	LoadCommand    = "load"
	DeclareCommand = "declare"
)

// Canary employers' sizes when no size is asked for: small employers, as most real ones are.
const (
	MinEmployees = 3
	MaxEmployees = 12
)

// declaredPeriodsProbe bounds how many employers are looked at to learn which months the registry has
// declarations for.
const declaredPeriodsProbe = 256

// Planter writes canaries into a registry.
type Planter struct {
	Store load.Store // a bulk load and employer ids: no ciphertext is read back
	Gate  *gate.Gate
	// System returns ctx acting as the system principal running command (the CLI's principal for its
	// own writes); it is called with LoadCommand and DeclareCommand only.
	System func(ctx context.Context, command string) context.Context
}

// Planted is what a plant wrote: the references of the records, employers first, and the two CSV
// files loaded (kept to declare for them).
type Planted struct {
	Employers           int      // canary employers planted
	Refs                []string // "employer/ID" then "employee/ID"
	adherents, salaries []byte
	seed                uint64
}

// Plant generates count canary employers, each with per employees (0: a random MinEmployees to
// MaxEmployees), and loads them, trying again with fresh draws when an identifier happens to be taken
// already (the load then writes nothing).
func (reg *Planter) Plant(ctx context.Context, count, per int) (*Planted, error) {
	sys := reg.System(ctx, LoadCommand)
	var lastErr error
	for range 4 {
		pl, affs, imms, err := draw(ctx, count, per)
		if err != nil {
			return nil, err
		}
		free, err := reg.free(sys, affs, imms)
		if err != nil {
			return nil, err
		}
		if !free {
			lastErr = amane.Errorf(amane.ECONFLICT, "Drawn canary identifiers were taken.")
			continue
		}
		res, err := load.Load(sys, reg.Store, reg.Gate,
			&load.Source{Name: "ADHERENTS.csv", R: bytes.NewReader(pl.adherents)},
			&load.Source{Name: "SALARIES.csv", R: bytes.NewReader(pl.salaries)}, load.Options{})
		if amane.ErrorCode(err) == amane.ECONFLICT { // a CIN, RIB or e-mail taken: nothing was written
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := reg.Gate.RecordLoad(sys, res.Rows); err != nil {
			return nil, err
		}
		if res.EmployersAdded != len(affs) || res.EmployeesAdded != len(imms) { // only if another writer raced us
			return nil, amane.Errorf(amane.ECONFLICT, "Another writer added some of the drawn identifiers meanwhile; run amane canary list and check the registry.")
		}
		for _, aff := range affs {
			id, err := reg.Store.EmployerIDByAffiliation(sys, aff)
			if err != nil {
				return nil, err
			}
			pl.Refs = append(pl.Refs, "employer/"+strconv.FormatInt(id, 10))
		}
		for _, imm := range imms {
			id, err := reg.Gate.ResolveInsured(sys, imm)
			if err != nil {
				return nil, err
			}
			pl.Refs = append(pl.Refs, "employee/"+strconv.FormatInt(id, 10))
		}
		pl.Employers = count
		return pl, nil
	}
	return nil, fmt.Errorf("four draws of canaries met identifiers taken already: %w", lastErr)
}

// free reports whether no drawn affiliation or immatriculation is in the store (a load would
// otherwise keep the existing record and attach canaries to it). Nothing is decrypted or journaled.
func (reg *Planter) free(ctx context.Context, affs, imms []string) (bool, error) {
	for _, aff := range affs {
		_, err := reg.Store.EmployerIDByAffiliation(ctx, aff)
		if err == nil {
			return false, nil
		} else if amane.ErrorCode(err) != amane.ENOTFOUND {
			return false, err
		}
	}
	for _, imm := range imms {
		_, err := reg.Gate.ResolveInsured(ctx, imm)
		if err == nil {
			return false, nil
		} else if amane.ErrorCode(err) != amane.ENOTFOUND {
			return false, err
		}
	}
	return true, nil
}

// draw runs the synthetic generator under a secret random seed over a population of at least 2,000
// employers (the demo's size) and keeps count of its employers, drawn at random among those the size
// asked for that are not struck off: every field, the agency (weighted as the generator weights
// agencies), the dates and the identifiers' formats and check digits are then exactly those of the
// synthetic population. It returns the two CSV files holding them, their affiliations and the
// employees' immatriculations.
func draw(ctx context.Context, count, per int) (*Planted, []string, []string, error) {
	fits := func(n int) bool { return n >= MinEmployees && n <= MaxEmployees }
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
		pl := &Planted{seed: seed}
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

// DeclarationSummaries is what DeclaredPeriods reads of the store: clear aggregates only.
type DeclarationSummaries interface {
	EmployerIdentityByID(ctx context.Context, id int64) (*amane.EmployerIdentity, error)
	DeclaredPeriods(ctx context.Context, employerID int64) ([]string, error)
}

// DeclaredPeriods returns the months (AAAAMM, oldest first) for which the first employers of the
// registry hold a principal declaration: the history a canary employer should have too. It reads
// only the store's clear aggregates.
func DeclaredPeriods(ctx context.Context, st DeclarationSummaries) ([]string, error) {
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

// Declare writes the canaries' declarations for periods with the synthetic generator (as
// `amane synth --months` does for the population) and submits them through the gate.
func (reg *Planter) Declare(ctx context.Context, pl *Planted, periods []string) (*load.DeclarationReport, error) {
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
	return load.Declarations(reg.System(ctx, DeclareCommand), reg.Gate, sources, load.DeclarationOptions{})
}

// AppendList appends a plant to the list at path — a header line "# planted TIME count N" and the
// references — creating it owner-only, and syncs it.
func AppendList(path string, at time.Time, pl *Planted) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an existing list too: it is what tells canaries apart
		f.Close()
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# planted %s count %d\n", at.UTC().Format(time.RFC3339), pl.Employers)
	for _, r := range pl.Refs {
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

// ReadList returns the canaries' record references listed in DIR/canaries, or nil if there is no
// such file: what the sentinel is given (sentinel.New(cfg, refs)).
func ReadList(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	refs, err := sentinel.ReadCanaries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, File), err)
	}
	return refs, nil
}

// Entry is one canary as the security officer sees it: no personal field, only the reference, its
// kind and, for an employer, its agency.
type Entry struct {
	Record string `json:"record"`
	Kind   string `json:"kind"`
	Agency string `json:"agency,omitempty"`
}

// Employers is what List reads of the store: an employer's agency is in clear, and nothing else is
// needed, so the list is made without the keys.
type Employers interface {
	EmployerIdentityByID(ctx context.Context, id int64) (*amane.EmployerIdentity, error)
}

// List returns the entries of refs, in order. A reference that is not employer/ID or employee/ID is
// EINVALID (field "record" of File).
func List(ctx context.Context, st Employers, refs []string) ([]Entry, error) {
	list := make([]Entry, 0, len(refs))
	for _, ref := range refs {
		kind, id, ok := strings.Cut(ref, "/")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n <= 0 || (kind != "employer" && kind != "employee") {
			return nil, amane.Invalid("A canary reference is malformed.", amane.FieldError{File: File,
				Field: "record", Rule: fmt.Sprintf("%q must be employer/ID or employee/ID", ref)})
		}
		e := Entry{Record: ref, Kind: kind}
		if kind == "employer" {
			r, err := st.EmployerIdentityByID(ctx, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			e.Agency = r.Agency
		}
		list = append(list, e)
	}
	return list, nil
}
