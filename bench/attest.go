package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"amane"
	"amane/attest"
	"amane/attest/batch"
	"amane/gate"
	"amane/load"
)

// AttestConfig sizes `amane-bench attest`.
type AttestConfig struct {
	Employees int
	Employers int    // default Employees/4
	Count     int    // attestations: the largest declarants first (default 53,574, the leaked set)
	Workers   int    // default the CPUs
	Seed      uint64 //
	Dir       string
	DB        string
	// Chromium is the browser for the comparison ("" skips it); Sample is how many documents it prints.
	Chromium string
	Sample   int
	// CPUProfile, if set, receives a CPU profile of the batch.
	CPUProfile string
}

// AttestReport is what `amane-bench attest` prints.
type AttestReport struct {
	Employees       int     `json:"employees"`
	Employers       int     `json:"employers"`
	Period          string  `json:"period"`
	Declarants      int     `json:"declarants"`
	Attestations    int     `json:"attestations"`
	NominativeLines int64   `json:"nominative_lines"`
	Seconds         float64 `json:"seconds"`
	PerSec          float64 `json:"attestations_per_s"`
	MB              float64 `json:"pdf_mb"`
	// The comparison, one document at a time on the same Sample documents: Amane's render + sign,
	// and the same content as HTML printed to PDF by headless Chromium.
	Sample           int     `json:"sample"`
	AmaneMsPerDoc    float64 `json:"amane_ms_per_doc"`
	ChromiumMsPerDoc float64 `json:"chromium_ms_per_doc,omitempty"`
	ChromiumRatio    float64 `json:"chromium_over_amane,omitempty"`
	Machine          string  `json:"machine"`
	Store            string  `json:"store"`
}

// Attest runs the benchmark: a synthetic registry with one month declared, then the nominative
// attestation of the Count largest declarants, issued through the gate (journaled), rendered and
// signed on Workers goroutines, kept in memory.
func Attest(ctx context.Context, cfg AttestConfig, logf func(string, ...any)) (*AttestReport, error) {
	if cfg.Employers <= 0 {
		cfg.Employers = max(1, cfg.Employees/4)
	}
	if cfg.Count <= 0 {
		cfg.Count = 53574
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Sample <= 0 {
		cfg.Sample = 50
	}
	cleanup, err := workDir(&cfg.Dir, "amane-bench-attest-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	period := amane.PeriodOf(time.Now().UTC().AddDate(0, -1, 0))
	rep := &AttestReport{Employees: cfg.Employees, Employers: cfg.Employers, Period: period, Machine: machine(), Store: storeName(cfg.DB)}
	adh, sal := filepath.Join(cfg.Dir, "ADHERENTS.csv"), filepath.Join(cfg.Dir, "SALARIES.csv")
	if err := writeFiles(ctx, RegistryConfig{Employees: cfg.Employees, Employers: cfg.Employers, Seed: cfg.Seed}, adh, sal); err != nil {
		return nil, err
	}
	bulk := filepath.Join(cfg.Dir, "DS_BULK_"+period+".txt")
	if err := writeMonth(ctx, adh, sal, bulk, period, cfg.Seed); err != nil {
		return nil, err
	}
	st, v, _, closeStore, err := loadedStore(ctx, cfg.Dir, cfg.DB, "attest", nil, adh, sal)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	j, js, err := openJournal(ctx, st, filepath.Join(cfg.Dir, "attest"), nil)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	g := gate.New(st, v).UseJournal(j, js)
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "bench", Role: amane.RoleSystem})
	f, err := os.Open(bulk)
	if err != nil {
		return nil, err
	}
	dres, err := load.Declarations(ctx, g, []load.Source{{Name: filepath.Base(bulk), R: bufio.NewReaderSize(f, 1<<20)}}, load.DeclarationOptions{})
	f.Close()
	if err != nil {
		return nil, err
	}
	logf("registry loaded, %d declarations of %s", dres.Accepted, period)

	ids, err := st.DeclaringEmployers(ctx, period)
	if err != nil {
		return nil, err
	}
	rep.Declarants = len(ids)
	if len(ids) > cfg.Count {
		ids = ids[:cfg.Count]
	}
	if err := attest.CreateDemoPKI(cfg.Dir); err != nil {
		return nil, err
	}
	signer, err := attest.LoadSigner(filepath.Join(cfg.Dir, attest.DemoCertFile), filepath.Join(cfg.Dir, attest.DemoKeyFile))
	if err != nil {
		return nil, err
	}
	const verifyURL = "https://amane.example.ma/verify"
	runtime.GC()
	if cfg.CPUProfile != "" {
		pf, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
		defer pf.Close()
	}
	res, err := batch.Issue(ctx, st, g, signer, ids, batch.Options{Kind: attest.KindEmployees, Workers: cfg.Workers, VerifyURL: verifyURL})
	if err != nil {
		return nil, err
	}
	if cfg.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	rep.Attestations, rep.NominativeLines = res.Documents, res.Lines
	rep.Seconds, rep.PerSec, rep.MB = res.Elapsed.Seconds(), float64(res.Documents)/res.Elapsed.Seconds(), float64(res.Bytes)/1e6
	logf("%d attestations (%d nominative lines) in %.1f s: %.0f/s", res.Documents, res.Lines, rep.Seconds, rep.PerSec)

	// The comparison on a sample spread over the sizes.
	var reqs []gate.AttestationRequest
	for i := 0; i < cfg.Sample && len(ids) > 0; i++ {
		emp, err := st.EmployerByID(ctx, ids[i*len(ids)/cfg.Sample])
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, gate.AttestationRequest{Kind: attest.KindEmployees, Affiliation: emp.Affiliation})
	}
	docs, errs, err := g.Attestations(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	rep.Sample = len(docs)
	start := time.Now()
	for _, d := range docs {
		if _, err := batch.RenderSigned(d, verifyURL, signer); err != nil {
			return nil, err
		}
	}
	rep.AmaneMsPerDoc = float64(time.Since(start).Milliseconds()) / float64(len(docs))
	if cfg.Chromium != "" {
		ms, err := chromiumPrint(ctx, cfg.Chromium, docs)
		if err != nil {
			return nil, fmt.Errorf("chromium: %w", err)
		}
		rep.ChromiumMsPerDoc = ms
		rep.ChromiumRatio = ms / rep.AmaneMsPerDoc
		logf("sample of %d: Amane %.2f ms/doc, Chromium %.1f ms/doc (%.0f×)", len(docs), rep.AmaneMsPerDoc, ms, rep.ChromiumRatio)
	}
	return rep, nil
}

// attestHTML is the same content as the PDF, as a browser would print it.
var attestHTML = template.Must(template.New("a").Funcs(template.FuncMap{"amount": attest.FormatAmount, "period": attest.FormatPeriod}).Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{.Summary.Code}}</title><style>
body{font-family:sans-serif;font-size:10pt;margin:2cm} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ccc;padding:2px 4px;text-align:left} .n{text-align:right}
</style></head><body>
<p>Caisse Nationale de Sécurité Sociale — Amane</p><h1>Attestation des salariés déclarés</h1>
<p>Code de vérification <b>{{.Summary.Code}}</b> — délivrée le {{.Summary.Issued}}</p>
<h2>Employeur</h2><table>
<tr><th>Raison sociale</th><td>{{.Company.Name}}</td></tr><tr><th>Activité</th><td>{{.Company.Activity}}</td></tr>
<tr><th>Adresse</th><td>{{.Company.Address}}, {{.Company.City}}</td></tr><tr><th>Affiliation</th><td>{{.Company.Affiliation}} depuis {{.Company.AffiliationDate}}</td></tr>
<tr><th>ICE</th><td>{{.Company.ICE}}</td></tr><tr><th>RC / TP / IF</th><td>{{.Company.RC}} / {{.Company.TP}} / {{.Company.IF}}</td></tr>
</table><h2>Déclarations mensuelles</h2><table><tr><th>Période</th><th class="n">Effectif</th><th class="n">Masse salariale</th></tr>
{{range .Summary.Months}}<tr><td>{{period .Period}}</td><td class="n">{{.Headcount}}</td><td class="n">{{amount .Payroll}}</td></tr>{{end}}
</table><h2>Liste nominative</h2><table><tr><th>Période</th><th>Immatriculation</th><th>Nom et prénom</th><th class="n">Jours</th><th class="n">Salaire</th></tr>
{{range .Lines}}<tr><td>{{period .Period}}</td><td>{{.Imm}}</td><td>{{.Surname}} {{.FirstName}}</td><td class="n">{{.Days}}</td><td class="n">{{amount .Salary}}</td></tr>{{end}}
</table></body></html>`))

// chromiumPrint prints each document's HTML to PDF in one headless Chromium tab and returns the mean
// milliseconds per document.
func chromiumPrint(ctx context.Context, path string, docs []*attest.Document) (float64, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	cctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(cctx, chromedp.Navigate("about:blank")); err != nil { // the browser starts outside the timing
		return 0, err
	}
	start := time.Now()
	for _, d := range docs {
		var html bytes.Buffer
		if err := attestHTML.Execute(&html, d); err != nil {
			return 0, err
		}
		tree, err := chromedp.Call(cctx, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return 0, err
		}
		if _, err := chromedp.Call(cctx, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: html.String()}); err != nil {
			return 0, err
		}
		pdf, err := chromedp.Run(cctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
		if err != nil {
			return 0, err
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			return 0, errors.New("not a PDF")
		}
	}
	return float64(time.Since(start).Milliseconds()) / float64(len(docs)), nil
}
