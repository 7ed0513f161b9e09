package main

import (
	"amane/alert"
	"amane/attest"
	"amane/sentinel"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"amane"
	"amane/csvfile"
	"amane/load"
	"amane/postgres"
	"amane/synth"
	"amane/vault"
	"amane/vault/hsm"
	"amane/web"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	var d dataFlags
	d.registerInit(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if d.dir == "" {
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	token, err := initData(ctx, &d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Initialised %s\n", d.dir)
	if url := d.dbURL(&config{}); url != "" {
		fmt.Fprintf(stdout, "  store:   PostgreSQL (recorded in %s)\n", filepath.Join(d.dir, configFile))
	} else {
		fmt.Fprintf(stdout, "  store:   %s\n", filepath.Join(d.dir, dbFile))
	}
	if d.hsm.Module != "" {
		fmt.Fprintf(stdout, "  keys:    HSM token %q, key %q (non-extractable); index key wrapped by it in %s\n",
			d.hsm.TokenLabel, d.hsm.KeyLabel, filepath.Join(d.dir, indexKeyFile))
	} else {
		fmt.Fprintf(stdout, "  keyring: %s (sealed by your passphrase; keep a copy apart from the store)\n", d.keyringPath())
	}
	fmt.Fprintf(stdout, "Operator token (shown once, stored only as a hash):\n  %s\n", token)
	return nil
}

// initData creates the data directory, its configuration, the key material (a sealed keyring, or a
// KEK on the HSM and the index key it wraps) and the store, and returns a new operator token.
func initData(ctx context.Context, d *dataFlags) (string, error) {
	for _, f := range []string{configFile, dbFile} {
		if _, err := os.Stat(filepath.Join(d.dir, f)); err == nil {
			return "", amane.Errorf(amane.ECONFLICT, "%s is already initialised.", d.dir)
		}
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return "", err
	}
	c := config{DB: d.dbURL(&config{})}
	if c.DB != "" && !postgres.IsURL(c.DB) {
		return "", fmt.Errorf("%w: --db must be a postgres:// URL", errUsage)
	}
	if strings.Contains(c.DB, "@") && strings.Contains(strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(c.DB, "postgresql://"), "postgres://"), "@", 2)[0], ":") {
		return "", fmt.Errorf("%w: keep the database password out of the URL: set PGPASSWORD or use ~/.pgpass", errUsage)
	}
	if d.hsm.Module != "" {
		if d.hsm.TokenLabel == "" {
			return "", fmt.Errorf("%w: --hsm-token LABEL is required with --hsm-module", errUsage)
		}
		h, err := hsm.Create(d.hsm)
		if err != nil {
			return "", err
		}
		err = hsm.CreateIndexKey(filepath.Join(d.dir, indexKeyFile), h)
		h.Close()
		if err != nil {
			return "", err
		}
		c.HSM = &d.hsm
	} else {
		pass, err := d.passphrase()
		if err != nil {
			return "", err
		}
		err = vault.CreateKeyring(d.keyringPath(), pass)
		clear(pass)
		if err != nil {
			return "", err
		}
	}
	if c.HSM == nil { // attestations' signing certificate (demo CA); with an HSM, made with the key on the token at first use
		if err := attest.CreateDemoPKI(d.dir); err != nil {
			return "", err
		}
	}
	b, _ := json.MarshalIndent(&c, "", "  ")
	if err := os.WriteFile(filepath.Join(d.dir, configFile), append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	st, err := openStore(ctx, d.dir, c.DB)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return newOperatorToken(ctx, st, "init")
}

func newOperatorToken(ctx context.Context, st amane.TokenStore, label string) (string, error) {
	token := web.NewToken()
	if err := st.AddOperatorToken(ctx, web.TokenHash(token), label); err != nil {
		return "", err
	}
	return token, nil
}

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

func cmdShow(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		return fmt.Errorf("%w: amane %s show …", errUsage, kind)
	}
	fs := flag.NewFlagSet(kind+" show", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "employer's affiliation number")
	cin := fs.String("cin", "", "insured person's CIN (or passport number)")
	imm := fs.String("imm", "", "insured person's immatriculation number")
	reveal := fs.String("reveal", "", "fields to show in clear instead of masked (cin, passeport, representant.cin, email, telephone, rib, mandataire, or *); journaled")
	cursor := fs.String("cursor", "", "employer show: one page of employees (at most 50), from the \"next\" of the page before; without it, every page")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	ctx = systemContext(ctx, kind+" show")
	if *reveal != "" {
		ctx = amane.NewContextWithReveal(ctx, strings.Split(*reveal, ",")...)
	}
	var v any
	switch {
	case kind == "employer" && *aff != "":
		v, err = employerShow(ctx, reg, *aff, *cursor)
	case kind == "employee" && *imm != "" && *cin == "":
		v, err = reg.gate.Employee(ctx, *imm)
	case kind == "employee" && *cin != "" && *imm == "":
		var list []amane.Employee
		if list, err = reg.gate.EmployeesByCIN(ctx, *cin); err == nil {
			if len(list) == 0 {
				err = amane.Errorf(amane.ENOTFOUND, "No insured person holds this CIN.")
			} else if len(list) == 1 {
				v = list[0]
			} else {
				v = list
			}
		}
	case kind == "employer":
		return fmt.Errorf("%w: amane employer show --data DIR --affiliation N", errUsage)
	default:
		return fmt.Errorf("%w: amane employee show --data DIR (--cin X | --imm N)", errUsage)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	rpID := fs.String("rp-id", "localhost", "WebAuthn relying-party id: the host name people reach the pages at")
	origins := fs.String("origin", "", "the exact origin(s) the pages are served from, comma-separated (https://amane.example.ma); required unless --rp-id is localhost")
	watch := fs.String("sentinel", "", "watch every decision with the sentinel: \"default\" for its default thresholds, or a JSON config file; canaries from DIR/canaries")
	syslogTo := fs.String("syslog", "", "with --sentinel: send every response as RFC 5424 syslog to NETWORK:HOST:PORT (udp or tcp)")
	webhook := fs.String("webhook", "", "with --sentinel: POST every response as JSON to this URL (https, or http on loopback), signed with the secret in $AMANE_WEBHOOK_SECRET or --webhook-secret-file")
	webhookSecret := fs.String("webhook-secret-file", "", "the webhook's HMAC secret, in a file")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", "a proxy (CIDR or address; repeatable, or comma-separated) whose X-Forwarded-For names the client, for the sign-in and /verify throttles; without it, the direct peer is the client")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics on this address (e.g. 127.0.0.1:9090), for a security officer's, auditor's or operator's bearer token; off by default, never on --addr")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	trusted, err := web.ParseTrustedProxies(proxies)
	if err != nil {
		return fmt.Errorf("%w: --trusted-proxy takes CIDRs or addresses (10.0.0.0/8,192.0.2.1)", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	cfg := web.Config{RPID: *rpID}
	if *origins != "" {
		cfg.Origins = strings.Split(*origins, ",")
	} else if *rpID != "localhost" {
		return fmt.Errorf("%w: --origin is required with --rp-id %s", errUsage, *rpID)
	}
	reg.web = cfg
	reg.proxies, reg.metricsAddr = trusted, *metricsAddr
	if *watch != "" {
		sc := sentinel.DefaultConfig()
		if *watch != "default" {
			if sc, err = sentinel.LoadConfig(*watch); err != nil {
				return err
			}
		}
		canaries, err := readCanaries(reg.dir)
		if err != nil {
			return err
		}
		reg.sentinel = sentinel.NewLive(sentinel.New(sc, canaries))
		if reg.alerts, err = alertSinks(*syslogTo, *webhook, *webhookSecret, stderr); err != nil {
			return err
		}
	} else if *syslogTo != "" || *webhook != "" {
		return fmt.Errorf("%w: --syslog and --webhook send the sentinel's responses: give --sentinel too", errUsage)
	}
	return serve(ctx, reg, *addr, stdout, stderr, func(string) {})
}

// webSecretFile, in the data directory, seals the accounts' TOTP secrets (created by init, 0600).
const webSecretFile = "web-secret.key"

// webSecret reads the data directory's web secret key, creating it on first use.
func webSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, webSecretFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := web.CreateSecretKey(path); err != nil {
			return nil, err
		}
	}
	return web.ReadSecretKey(path)
}

// keyRefresh is how often a server re-reads its key custody, so that a version added by
// `amane keys rotate` in another process becomes current for new data keys.
const keyRefresh = 3 * time.Second

func serve(ctx context.Context, reg *registry, addr string, stdout, stderr io.Writer, ready func(url string)) error {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	go func() {
		t := time.NewTicker(keyRefresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := reg.custody.Refresh(); err != nil {
					logger.Error("key refresh", "err", err.Error())
				}
			}
		}
	}()
	srv := web.NewServer(reg.gate, reg.store, logger)
	if reg.web.RPID != "" {
		srv.Config = reg.web
	}
	key, err := webSecret(reg.dir)
	if err != nil {
		return err
	}
	srv.SecretKey = key
	srv.Health = reg.journal.Health // /healthz: 503 while the server cannot journal
	signer, err := attestSigner(reg, stderr)
	if err != nil {
		return err
	}
	verifyURL := "http://" + addr + "/verify"
	if len(reg.web.Origins) > 0 {
		verifyURL = reg.web.Origins[0] + "/verify"
	}
	srv.Attester = &attester{g: reg.gate, signer: signer, verifyURL: verifyURL}
	if reg.sentinel != nil {
		// Every decision goes to the detector; every response is journaled, stored, applied (accounts,
		// sessions, tokens), logged (principal id, response, signal: no personal data), sent to the
		// sinks and counted. Suspensions the store holds from before a restart hold again.
		reg.gate.UseSentinel(reg.sentinel)
		if _, err := reg.gate.RestoreSentinel(ctx); err != nil {
			return err
		}
		srv.UseSentinel(ctx, reg.gate, reg.sentinel, reg.alerts)
	}
	if reg.alerts != nil {
		defer reg.alerts.Close() // what is queued is delivered
	}
	srv.TrustedProxies = reg.proxies
	if reg.metricsAddr != "" {
		// Bound before the main listener, so that its line is printed first.
		bound := make(chan error, 1)
		go func() {
			err := srv.ServeMetrics(ctx, reg.metricsAddr, func(a string) {
				fmt.Fprintf(stdout, "Metrics on %s (GET /metrics with a security officer's, auditor's or operator's bearer token)\n", a)
				bound <- nil
			})
			if err != nil {
				logger.Error("metrics listener", "err", err.Error())
			}
			select {
			case bound <- err:
			default:
			}
		}()
		if err := <-bound; err != nil {
			return err
		}
	}
	return srv.ListenAndServe(ctx, addr, func(a string) {
		fmt.Fprintf(stdout, "Amane is serving on http://%s (pages at /connexion, API under /api/v1/, OpenAPI at /api/v1/openapi.json)\n", a)
		ready("http://" + a)
	})
}

// alertSinks builds the dispatcher of the sentinel's responses to syslog and a webhook (nil if none).
func alertSinks(syslogTo, webhook, secretFile string, stderr io.Writer) (*alert.Dispatcher, error) {
	var sinks []alert.Sink
	if syslogTo != "" {
		network, addr, ok := strings.Cut(syslogTo, ":")
		if !ok || (network != "udp" && network != "tcp") {
			return nil, fmt.Errorf("%w: --syslog NETWORK:HOST:PORT, NETWORK udp or tcp", errUsage)
		}
		host, _ := os.Hostname()
		s, err := alert.NewSyslog(network, addr, host, "amane")
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	if webhook != "" {
		secret := []byte(os.Getenv("AMANE_WEBHOOK_SECRET"))
		if secretFile != "" {
			b, err := os.ReadFile(secretFile)
			if err != nil {
				return nil, err
			}
			secret = bytes.TrimSpace(b)
		}
		if len(secret) == 0 {
			return nil, fmt.Errorf("%w: --webhook needs a secret in $AMANE_WEBHOOK_SECRET or --webhook-secret-file", errUsage)
		}
		h, err := alert.NewWebhook(webhook, secret, nil)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, h)
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	return alert.NewDispatcher(slog.New(slog.NewJSONHandler(stderr, nil)), sinks...), nil
}

// employerShow reads an employer through the gate a page of employees at a time (each page journaled
// per person, as any principal's): the page at cursor, or, without one, every page gathered — the
// administrator at the console sees the whole employer, as before pages.
func employerShow(ctx context.Context, reg *registry, aff, cursor string) (*amane.EmployerWithEmployees, error) {
	e, err := reg.gate.EmployerPage(ctx, aff, amane.Page{Cursor: cursor})
	if err != nil || cursor != "" {
		return e, err
	}
	for next := e.Next; next != ""; {
		p, err := reg.gate.EmployerPage(ctx, aff, amane.Page{Cursor: next})
		if err != nil {
			return nil, err
		}
		e.Employees = append(e.Employees, p.Employees...)
		next = p.Next
	}
	e.Next = ""
	return e, nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
