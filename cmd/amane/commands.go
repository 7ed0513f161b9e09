package main

import (
	"bufio"
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

func newOperatorToken(ctx context.Context, st amane.Store, label string) (string, error) {
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
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" || *employers <= 0 || *employees < 0 {
		return fmt.Errorf("%w: amane synth --employers N --employees M --seed S --out DIR", errUsage)
	}
	var progress func(done, total int)
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
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
	return nil
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
		v, err = reg.gate.Employer(ctx, *aff)
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
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
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
	return srv.ListenAndServe(ctx, addr, func(a string) {
		fmt.Fprintf(stdout, "Amane is serving on http://%s (pages at /connexion, API under /api/v1/, OpenAPI at /api/v1/openapi.json)\n", a)
		ready("http://" + a)
	})
}
