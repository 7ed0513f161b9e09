// Package batch issues attestations many at a time: the gate decides and journals a batch, workers
// render and sign, the files go to a directory. `amane attest --all` and `amane-bench attest` use it.
package batch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"amane"
	"amane/attest"
	"amane/gate"
)

// RenderSigned renders a document and signs it.
func RenderSigned(doc *attest.Document, verifyURL string, signer *attest.Signer) ([]byte, error) {
	doc.VerifyURL = verifyURL
	pdf, err := attest.Render(doc)
	if err != nil {
		return nil, err
	}
	issued, err := time.Parse(time.RFC3339, doc.Summary.Issued)
	if err != nil {
		return nil, err
	}
	return signer.Sign(pdf, issued)
}

// Options tune a batch of attestations.
type Options struct {
	Kind, From, To string
	Dir            string // where the PDFs go; "" keeps them nowhere (the benchmark)
	Workers        int
	VerifyURL      string
	Progress       func(done int)
}

// Result sums up a batch.
type Result struct {
	Documents, Failed int
	Lines             int64
	Bytes             int64
	Elapsed           time.Duration
}

// Issue issues, renders and signs one attestation per employer id, Workers at a time: each worker
// asks the gate for a batch (one journal append and one store transaction per batch), then renders
// and signs its documents.
func Issue(ctx context.Context, st amane.EmployerStore, g *gate.Gate, signer *attest.Signer, employers []int64, opt Options) (*Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	if opt.Dir != "" {
		if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
			return nil, err
		}
	}
	const batch = 32
	jobs := make(chan []int64)
	var res Result
	var lines, size, failed, done atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	start := time.Now()
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ids := range jobs {
				reqs := make([]gate.AttestationRequest, 0, len(ids))
				for _, id := range ids {
					emp, err := st.EmployerByID(ctx, id)
					if err != nil {
						cancel(err)
						return
					}
					reqs = append(reqs, gate.AttestationRequest{Kind: opt.Kind, Affiliation: emp.Affiliation, From: opt.From, To: opt.To})
				}
				docs, errs, err := g.Attestations(ctx, reqs)
				if err != nil {
					cancel(err)
					return
				}
				for i, doc := range docs {
					if errs[i] != nil {
						failed.Add(1)
						continue
					}
					pdf, err := RenderSigned(doc, opt.VerifyURL, signer)
					if err != nil {
						cancel(err)
						return
					}
					lines.Add(int64(len(doc.Lines)))
					size.Add(int64(len(pdf)))
					if opt.Dir != "" {
						name := filepath.Join(opt.Dir, "ATTESTATION_"+doc.Summary.Affiliation+"_"+strings.ReplaceAll(doc.Summary.Code, "-", "")+".pdf")
						if err := os.WriteFile(name, pdf, 0o600); err != nil {
							cancel(err)
							return
						}
					}
				}
				done.Add(int64(len(ids)))
				if opt.Progress != nil {
					opt.Progress(len(ids))
				}
			}
		}()
	}
	for i := 0; i < len(employers); i += batch {
		select {
		case jobs <- employers[i:min(i+batch, len(employers))]:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	res.Failed = int(failed.Load())
	res.Documents = int(done.Load()) - res.Failed
	res.Lines, res.Bytes = lines.Load(), size.Load()
	return &res, nil
}
