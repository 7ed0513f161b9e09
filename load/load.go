// Package load imports ADHERENTS.csv and SALARIES.csv into the registry: every row validated, every
// bad row reported at once as file:line: field: rule, and nothing written unless every row of both
// files is good. Loading the same files again changes nothing: employers are matched by affiliation,
// insured people by the blind index of their immatriculation.
//
// The pipeline keeps the single SQLite writer busy: one goroutine parses and validates, workers seal
// (the vault's AEAD and HMAC work, about 2 µs a row), the writer inserts in one transaction. Batches
// carry sequence numbers and are written in file order, so ids follow the file.
package load

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"amane"
	"amane/csvfile"
	"amane/gate"
)

// Source is one file to load.
type Source struct {
	Name string // shown in errors, e.g. "ADHERENTS.csv"
	R    io.Reader
}

// Options tune a load.
type Options struct {
	Workers   int               // sealing goroutines; default GOMAXPROCS
	Progress  func(bytes int64) // called with the bytes consumed since the last call
	MaxErrors int               // problems kept in the report; default 10,000 (the count is exact)
}

// Result counts what a load did.
type Result struct {
	EmployersAdded   int `json:"employers_added"`
	EmployersKept    int `json:"employers_already_present"`
	EmployeesAdded   int `json:"employees_added"`
	EmployeesKept    int `json:"employees_already_present"`
	EmploymentsAdded int `json:"employments"`
	Rows             int `json:"rows"`
}

const batchSize = 512

// Store is what a load writes through: one bulk-load transaction, and the employers of the registry
// by affiliation (does a salary row's employer exist?).
type Store interface {
	amane.LoadStore
	EmployerIDByAffiliation(ctx context.Context, affiliation string) (int64, error)
}

// Load reads adherents then salaries (either may be nil) into store, sealing through g. On any bad
// row it returns an EINVALID *amane.Error listing every problem, and writes nothing.
func Load(ctx context.Context, store Store, g *gate.Gate, adherents, salaries *Source, opt Options) (*Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxErrors <= 0 {
		opt.MaxErrors = 10000
	}
	l, err := store.BeginLoad(ctx)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			l.Rollback()
		}
	}()
	ld := &loader{store: store, gate: g, l: l, opt: opt, affIDs: map[string]int64{}, affKnown: map[string]bool{}}
	if adherents != nil {
		if err := ld.employers(ctx, ld.counting(adherents)); err != nil {
			return nil, err
		}
	}
	if salaries != nil {
		if err := ld.employees(ctx, ld.counting(salaries)); err != nil {
			return nil, err
		}
	}
	if ld.nerr > 0 {
		return nil, ld.report()
	}
	if err := l.Commit(); err != nil {
		return nil, err
	}
	committed = true
	return &ld.res, nil
}

type loader struct {
	store    Store
	gate     *gate.Gate
	l        amane.Loader
	opt      Options
	res      Result
	failed   atomic.Bool // a bad row was seen: stop writing, keep validating
	mu       sync.Mutex
	errs     []amane.FieldError
	nerr     int
	files    []string
	affIDs   map[string]int64 // writer: affiliation → employer id in the store
	affKnown map[string]bool  // reader: affiliations of this load's ADHERENTS.csv, or found in the store
}

func (ld *loader) addErrors(fe ...amane.FieldError) {
	ld.failed.Store(true)
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.nerr += len(fe)
	for _, e := range fe {
		if len(ld.errs) < ld.opt.MaxErrors {
			ld.errs = append(ld.errs, e)
		}
	}
}

func (ld *loader) report() error {
	order := map[string]int{}
	for i, f := range ld.files {
		order[f] = i
	}
	sort.SliceStable(ld.errs, func(i, j int) bool {
		a, b := ld.errs[i], ld.errs[j]
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	msg := fmt.Sprintf("%d problem(s) found; nothing was written.", ld.nerr)
	if ld.nerr > len(ld.errs) {
		msg = fmt.Sprintf("%d problem(s) found, the first %d listed; nothing was written.", ld.nerr, len(ld.errs))
	}
	return amane.Invalid(msg, ld.errs...)
}

type countingReader struct {
	r        io.Reader
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.progress != nil {
		c.progress(int64(n))
	}
	return n, err
}

func (ld *loader) counting(s *Source) *Source {
	ld.files = append(ld.files, s.Name)
	return &Source{Name: s.Name, R: &countingReader{r: s.R, progress: ld.opt.Progress}}
}

type employerItem struct {
	line int
	e    *amane.Employer
	rec  *amane.EmployerRecord
}

func (ld *loader) employers(ctx context.Context, src *Source) error {
	rd, ferr := csvfile.NewEmployerReader(src.Name, src.R)
	if ferr != nil {
		ld.addErrors(*ferr)
		return nil
	}
	seen := map[string]int{}
	produce := func(emit func(employerItem)) error {
		for {
			line, e, errs, err := rd.Next()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			ld.res.Rows++
			if e != nil && !hasField(errs, "affiliation") {
				// A row with a good affiliation claims it even when other fields are bad, so that its
				// employees in SALARIES.csv are not reported as orphans on top of the row's own problems.
				if first, dup := seen[e.Affiliation]; dup {
					errs = append(errs, amane.FieldError{File: src.Name, Line: line, Field: "affiliation", Rule: fmt.Sprintf("duplicate of line %d", first)})
				} else {
					seen[e.Affiliation] = line
					ld.affKnown[e.Affiliation] = true
				}
			}
			if len(errs) > 0 {
				ld.addErrors(errs...)
				continue
			}
			if !ld.failed.Load() {
				emit(employerItem{line: line, e: e})
			}
		}
	}
	seal := func(it *employerItem) (err error) {
		it.rec, err = ld.gate.SealEmployer(ld.l.NextEmployerID(), it.e)
		return err
	}
	write := func(it *employerItem) error {
		id, inserted, err := ld.l.PutEmployer(it.rec)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", src.Name, it.line, err)
		}
		ld.affIDs[it.e.Affiliation] = id
		if inserted {
			ld.res.EmployersAdded++
		} else {
			ld.res.EmployersKept++
		}
		return nil
	}
	return pipeline(ctx, ld.opt.Workers, &ld.failed, produce, seal, write)
}

type employeeItem struct {
	line    int
	e       *amane.Employee
	id      int64 // allocated id; for a repeated person, the id allocated at its first row
	jobOnly bool  // a further employment of a person seen on an earlier row
	rec     *amane.EmployeeRecord
}

type seenPerson struct {
	line  int
	id    int64
	ident string // the identity columns of the first row: a repeat must match them
	aff   string
}

func (ld *loader) employees(ctx context.Context, src *Source) error {
	rd, ferr := csvfile.NewEmployeeReader(src.Name, src.R)
	if ferr != nil {
		ld.addErrors(*ferr)
		return nil
	}
	seenImm := map[string]*seenPerson{}
	seenDoc := map[string]int{}
	remap := map[int64]int64{} // allocated id → id in the store, for people already registered
	produce := func(emit func(employeeItem)) error {
		for {
			line, e, errs, err := rd.Next()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			ld.res.Rows++
			if e == nil { // not even a well-formed row
				ld.addErrors(errs...)
				continue
			}
			aff := e.Employments[0].Affiliation
			if !hasField(errs, "affiliation_employeur") && !ld.affKnown[aff] {
				if _, err := ld.store.EmployerIDByAffiliation(ctx, aff); amane.ErrorCode(err) == amane.ENOTFOUND {
					errs = append(errs, amane.FieldError{File: src.Name, Line: line, Field: "affiliation_employeur", Rule: "no employer has this affiliation number, in this load or in the registry"})
				} else if err != nil {
					return err
				} else {
					ld.affKnown[aff] = true
				}
			}
			if len(errs) > 0 {
				ld.addErrors(errs...)
				continue
			}
			ident := e.CIN + "\x00" + e.Passport + "\x00" + e.Surname + "\x00" + e.FirstName + "\x00" + e.AffiliationDate
			if p := seenImm[e.Immatriculation]; p != nil {
				switch {
				case p.ident != ident:
					ld.addErrors(amane.FieldError{File: src.Name, Line: line, Field: "immatriculation", Rule: fmt.Sprintf("already on line %d with another identity", p.line)})
				case p.aff == aff:
					ld.addErrors(amane.FieldError{File: src.Name, Line: line, Field: "immatriculation", Rule: fmt.Sprintf("duplicate of line %d", p.line)})
				case !ld.failed.Load():
					emit(employeeItem{line: line, e: e, id: p.id, jobOnly: true})
				}
				continue
			}
			doc, docField := e.CIN, "cin"
			if doc == "" {
				doc, docField = "P"+e.Passport, "passeport"
			}
			if first, dup := seenDoc[doc]; dup {
				ld.addErrors(amane.FieldError{File: src.Name, Line: line, Field: docField, Rule: fmt.Sprintf("already used by another immatriculation on line %d", first)})
				continue
			}
			seenDoc[doc] = line
			p := &seenPerson{line: line, ident: ident, aff: aff}
			seenImm[e.Immatriculation] = p
			if !ld.failed.Load() {
				p.id = ld.l.NextEmployeeID()
				emit(employeeItem{line: line, e: e, id: p.id})
			}
		}
	}
	seal := func(it *employeeItem) (err error) {
		if !it.jobOnly {
			it.rec, err = ld.gate.SealEmployee(it.id, it.e)
		}
		return err
	}
	write := func(it *employeeItem) error {
		id := it.id
		if it.jobOnly {
			if sid, ok := remap[id]; ok {
				id = sid
			}
		} else {
			sid, inserted, err := ld.l.PutEmployee(it.rec)
			if ae, ok := err.(*amane.Error); ok && ae.Code == amane.ECONFLICT {
				for _, f := range ae.Fields {
					ld.addErrors(amane.FieldError{File: src.Name, Line: it.line, Field: f.Field, Rule: f.Rule})
				}
				return nil
			} else if err != nil {
				return fmt.Errorf("%s:%d: %w", src.Name, it.line, err)
			}
			if inserted {
				ld.res.EmployeesAdded++
			} else {
				ld.res.EmployeesKept++
				remap[id] = sid
			}
			id = sid
		}
		j := it.e.Employments[0]
		erID, ok := ld.affIDs[j.Affiliation]
		if !ok {
			var err error
			if erID, err = ld.l.EmployerID(j.Affiliation); err != nil {
				return err
			}
			ld.affIDs[j.Affiliation] = erID
		}
		j.EmployeeID, j.EmployerID = id, erID
		inserted, err := ld.l.PutEmployment(j)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", src.Name, it.line, err)
		}
		if inserted {
			ld.res.EmploymentsAdded++
		}
		return nil
	}
	return pipeline(ctx, ld.opt.Workers, &ld.failed, produce, seal, write)
}

type batch[T any] struct {
	seq   int
	items []T
	err   error
}

// pipeline runs produce in one goroutine, seal on workers goroutines, and write on the caller's, in
// the order produce emitted. Once failed is set the writer stops writing (the load will roll back)
// but the producer keeps validating, so that every bad row is reported.
func pipeline[T any](ctx context.Context, workers int, failed *atomic.Bool, produce func(emit func(T)) error,
	seal func(*T) error, write func(*T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *batch[T], workers*2)
	done := make(chan *batch[T], workers*2)
	var perr error
	go func() {
		defer close(todo)
		cur := &batch[T]{}
		seq := 0
		send := func() {
			if len(cur.items) == 0 {
				return
			}
			cur.seq = seq
			seq++
			select {
			case todo <- cur:
			case <-ctx.Done():
			}
			cur = &batch[T]{items: make([]T, 0, batchSize)}
		}
		perr = produce(func(it T) {
			cur.items = append(cur.items, it)
			if len(cur.items) == batchSize {
				send()
			}
		})
		send()
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				for i := range b.items {
					if b.err = seal(&b.items[i]); b.err != nil {
						break
					}
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	pending := map[int]*batch[T]{}
	next := 0
	var werr error
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if werr != nil || failed.Load() {
				continue
			}
			if b.err != nil {
				werr = b.err
				cancel()
				continue
			}
			for i := range b.items {
				if werr = write(&b.items[i]); werr != nil {
					cancel()
					break
				}
				if failed.Load() {
					break
				}
			}
		}
	}
	if werr != nil {
		return werr
	}
	if perr != nil {
		return perr
	}
	return ctx.Err()
}

func hasField(errs []amane.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}
