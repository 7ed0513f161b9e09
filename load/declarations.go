package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"amane"
	"amane/damancom"
)

// Submitter takes declarations through the door: package gate implements it.
type Submitter interface {
	SubmitDeclarations(ctx context.Context, ds []*amane.Declaration) ([]*amane.DeclarationResult, []error, error)
}

// DeclarationOptions tune a bulk declaration load.
type DeclarationOptions struct {
	// Batch is how many declarations one store transaction writes (default 1024: at 200,000 people
	// it ingested 1.5–1.7× the lines/s of 256, at 2,000,000 people 1.2× in the first month; see
	// docs/benchmarks.md).
	Batch int
	// Workers decode and submit batches side by side (default 2: decoding and sealing on one core
	// while the store writes on the other).
	Workers int
	// Progress, if set, is called with the bytes of input consumed since the last call.
	Progress func(n int64)
}

// Rejection is one declaration refused, with every problem (file lines are the file's own).
type Rejection struct {
	File        string             `json:"fichier"`
	Affiliation string             `json:"affiliation,omitempty"`
	Period      string             `json:"periode,omitempty"`
	Problems    []amane.FieldError `json:"erreurs"`
	Message     string             `json:"message,omitempty"`
}

// DeclarationReport sums up a bulk load.
type DeclarationReport struct {
	Declarations int64       `json:"declarations"`
	Accepted     int64       `json:"acceptees"`
	Duplicates   int64       `json:"deja_recues"`
	Rejected     int64       `json:"rejetees"`
	Lines        int64       `json:"lignes"`
	Bytes        int64       `json:"octets"`
	Requests     int64       `json:"demandes_immatriculation"`
	Pending      int64       `json:"emplois_en_attente"`
	Rejections   []Rejection `json:"rejets,omitempty"`
}

// MaxRejectionsKept bounds the rejections a report lists in full (the counts stay exact).
const MaxRejectionsKept = 1000

// chunk is one declaration's bytes, cut from a file.
type chunk struct {
	file string
	name string // the file name when the file holds one declaration (DS_/DSC names say principal or complementary)
	line int    // the first line's number in the file
	b    []byte
}

// Declarations loads Damancom declaration files — one declaration each (DS_…, DSC…) or many back to
// back (a bulk file, as `amane synth --months` writes) — through the door. Each declaration stands
// alone: one with any problem is refused whole and written nowhere, the others are stored. Decoding
// and sealing run on Workers goroutines; the store writes Batch declarations per transaction.
func Declarations(ctx context.Context, sub Submitter, sources []Source, opt DeclarationOptions) (*DeclarationReport, error) {
	if opt.Batch <= 0 {
		opt.Batch = 1024
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []chunk, opt.Workers)
	rep := &DeclarationReport{}
	var mu sync.Mutex // guards rep.Rejections
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := submitBatch(ctx, sub, b, rep, &mu); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	err := func() error {
		defer close(batches)
		var cur []chunk
		for _, src := range sources {
			err := damancom.SplitBulk(src.R, func(b []byte, line int, single bool) error {
				c := chunk{file: src.Name, line: line, b: b}
				if single {
					c.name = src.Name
				}
				atomic.AddInt64(&rep.Bytes, int64(len(b)))
				if opt.Progress != nil {
					opt.Progress(int64(len(b)))
				}
				cur = append(cur, c)
				if len(cur) == opt.Batch {
					select {
					case batches <- cur:
					case <-ctx.Done():
						return context.Cause(ctx)
					}
					cur = nil
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", src.Name, err)
			}
		}
		if len(cur) > 0 {
			select {
			case batches <- cur:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	}()
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return rep, cause
	}
	if err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

func submitBatch(ctx context.Context, sub Submitter, cs []chunk, rep *DeclarationReport, mu *sync.Mutex) error {
	reject := func(r Rejection) {
		atomic.AddInt64(&rep.Rejected, 1)
		mu.Lock()
		if len(rep.Rejections) < MaxRejectionsKept {
			rep.Rejections = append(rep.Rejections, r)
		}
		mu.Unlock()
	}
	ds := make([]*amane.Declaration, 0, len(cs))
	from := make([]chunk, 0, len(cs))
	for _, c := range cs {
		atomic.AddInt64(&rep.Declarations, 1)
		d, err := damancom.ReadDeclarationAt(c.name, bytes.NewReader(c.b), c.line)
		if err != nil {
			var ae *amane.Error
			if !errors.As(err, &ae) {
				return err
			}
			reject(Rejection{File: c.file, Problems: ae.Fields, Message: ae.Message})
			continue
		}
		ds = append(ds, d)
		from = append(from, c)
	}
	if len(ds) == 0 {
		return nil
	}
	res, errs, err := sub.SubmitDeclarations(ctx, ds)
	if err != nil {
		return err
	}
	for i, r := range res {
		d := ds[i]
		switch {
		case errs[i] != nil:
			reject(Rejection{File: from[i].file, Affiliation: d.Affiliation, Period: d.Period, Message: amane.ErrorMessage(errs[i])})
		case r.Status == amane.DeclRejected:
			reject(Rejection{File: from[i].file, Affiliation: d.Affiliation, Period: d.Period, Problems: r.Problems})
		case r.Duplicate:
			atomic.AddInt64(&rep.Duplicates, 1)
		default:
			atomic.AddInt64(&rep.Accepted, 1)
			atomic.AddInt64(&rep.Lines, int64(len(d.Lines)+len(d.New)))
			atomic.AddInt64(&rep.Requests, int64(r.Requests))
			atomic.AddInt64(&rep.Pending, int64(r.Pending))
		}
	}
	return nil
}
