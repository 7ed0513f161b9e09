package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"amane"
	"amane/attest"
	"amane/attest/batch"
	"amane/gate"
	"amane/vault/hsm"
)

// The attestation signing material in a data directory: a demo PKI made by `amane init` (in
// production, replace attest-cert.pem and attest-key.pem by the fund's certificate chain and key, or
// keep the key in the HSM).
const (
	attestCAFile   = "attest-ca.pem"
	attestCertFile = "attest-cert.pem"
	attestKeyFile  = "attest-key.pem"
	// defaultVerifyURL is where the QR codes point unless --verify-url says otherwise.
	defaultVerifyURL = "http://127.0.0.1:8080/verify"
	// attestKeyLabel names the attestation signing key on an HSM token.
	attestKeyLabel = "amane-attest"
)

// attestSigner loads the data directory's signer, creating the demo PKI the first time (a data
// directory made before attestations existed has none). With the keys in an HSM, the signing key is
// on the token too (label attestKeyLabel): generated there, and only its certificate is a file.
func attestSigner(reg *registry, stderr io.Writer) (*attest.Signer, error) {
	cert, key := filepath.Join(reg.dir, attestCertFile), filepath.Join(reg.dir, attestKeyFile)
	h, onToken := reg.custody.(*hsm.HSM)
	if _, err := os.Stat(cert); errors.Is(err, os.ErrNotExist) {
		var made error
		if onToken {
			k, err := h.GenerateSigner(attestKeyLabel)
			if err != nil {
				return nil, err
			}
			made = attest.CreateDemoPKIFor(reg.dir, k.Public())
		} else {
			made = attest.CreateDemoPKI(reg.dir)
		}
		if made != nil {
			return nil, made
		}
		fmt.Fprintf(stderr, "Created a demo signing certificate in %s (%s is its trust anchor).\n", reg.dir, attestCAFile)
	}
	if onToken {
		k, err := h.Signer(attestKeyLabel)
		if err != nil {
			return nil, err
		}
		return attest.LoadSignerWith(cert, k)
	}
	return attest.LoadSigner(cert, key)
}

// cmdAttest: amane attest (one | --all) | amane attest revoke.
func cmdAttest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "revoke" {
		return cmdAttestRevoke(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("attest", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	aff := fs.String("affiliation", "", "the employer's affiliation number")
	imm := fs.String("imm", "", "the insured person (kind salaire)")
	kind := fs.String("kind", attest.KindEmployees, "salaries-declares (nominative, for the employer), affiliation-declaration (third parties, no names), salaire (one person)")
	from := fs.String("from", "", "first period AAAAMM (default: the last 12 declared months)")
	to := fs.String("to", "", "last period AAAAMM")
	all := fs.Bool("all", false, "every employer with a declaration for --period, largest first, in parallel")
	period := fs.String("period", "", "with --all: the period whose declarants are attested (default the month before this one)")
	limit := fs.Int("limit", 0, "with --all: at most this many employers (the largest)")
	workers := fs.Int("workers", runtime.NumCPU(), "with --all: documents rendered and signed in parallel")
	out := fs.String("out", "", "the PDF to write (a directory with --all)")
	verifyURL := fs.String("verify-url", defaultVerifyURL, "the public verification page the QR codes point to")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" || (!*all && *aff == "" && *imm == "") {
		return fmt.Errorf("%w: amane attest --data DIR --affiliation N [--kind K] [--from P --to P] --out FILE | --all --out DIR", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	signer, err := attestSigner(reg, stderr)
	if err != nil {
		return err
	}
	ctx = systemContext(ctx, "attest")
	if !*all {
		docs, errs, err := reg.gate.Attestations(ctx, []gate.AttestationRequest{{Kind: *kind, Affiliation: *aff, Imm: *imm, From: *from, To: *to}})
		if err != nil {
			return err
		}
		if errs[0] != nil {
			return errs[0]
		}
		pdf, err := batch.RenderSigned(docs[0], *verifyURL, signer)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, pdf, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Wrote %s: %s, verification code %s.\n", *out, attest.Titles[docs[0].Summary.Kind], docs[0].Summary.Code)
		return nil
	}
	if *period == "" {
		*period = lastPeriods(time.Now().UTC(), 1)[0]
	}
	ids, err := reg.store.DeclaringEmployers(ctx, *period)
	if err != nil {
		return err
	}
	if *limit > 0 && len(ids) > *limit {
		ids = ids[:*limit]
	}
	res, err := batch.Issue(ctx, reg.store, reg.gate, signer, ids, batch.Options{Kind: *kind, From: *from, To: *to, Dir: *out, Workers: *workers,
		VerifyURL: *verifyURL, Progress: progressFor(stderr, len(ids), "attestations")})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %d attestations (%d nominative lines, %s) in %s: %.0f attestations/s; %d refused.\n",
		res.Documents, res.Lines, humanBytes(res.Bytes), res.Elapsed.Round(time.Millisecond), float64(res.Documents)/res.Elapsed.Seconds(), res.Failed)
	return nil
}

// progressFor returns a progress callback drawing a bar on a terminal, nil otherwise.
func progressFor(stderr io.Writer, total int, what string) func(int) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	bar := progressbar.Default(int64(total), what)
	return func(n int) { bar.Add(n) }
}

func cmdAttestRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attest revoke", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	reason := fs.String("reason", "", "why (no personal data): e.g. \"issued in error\"")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 || *reason == "" {
		return fmt.Errorf("%w: amane attest revoke --data DIR --reason TEXT CODE", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := reg.gate.RevokeAttestation(systemContext(ctx, "attest revoke"), fs.Arg(0), *reason); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Revoked %s.\n", fs.Arg(0))
	return nil
}

// cmdVerify checks an attestation offline: the signature and its chain to the trust anchor, the byte
// range, no update after signing, the QR code and the visible figures against the signed summary.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	trustFile := fs.String("trust", "", "the trust anchor (PEM), e.g. DIR/attest-ca.pem")
	dir := fs.String("data", "", "a data directory whose attest-ca.pem is the trust anchor")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*trustFile == "" && *dir == "") {
		return fmt.Errorf("%w: amane verify (--trust CA.pem | --data DIR) FILE.pdf", errUsage)
	}
	if *trustFile == "" {
		*trustFile = filepath.Join(*dir, attestCAFile)
	}
	pdf, err := readAttestation(fs.Arg(0))
	if err != nil {
		return err
	}
	trust, err := attest.LoadTrust(*trustFile)
	if err != nil {
		return err
	}
	r := attest.Verify(pdf, trust, time.Now())
	if !r.Valid {
		for _, reason := range r.Reasons {
			fmt.Fprintf(stderr, "  %s\n", reason)
		}
		return amane.Errorf(amane.EINVALID, "%s is NOT a genuine Amane attestation (%d reasons above).", filepath.Base(fs.Arg(0)), len(r.Reasons))
	}
	s := r.Summary
	fmt.Fprintf(stdout, "%s: valid. %s, code %s, signed by %s.\nEmployer %s (%s), periods %s to %s, issued %s.\n",
		filepath.Base(fs.Arg(0)), attest.Titles[s.Kind], s.Code, r.Signer, s.Employer, s.Affiliation, s.From, s.To, s.Issued)
	for _, m := range s.Months {
		fmt.Fprintf(stdout, "  %s\n", attest.MonthText(m))
	}
	return nil
}

// attester issues signed attestations for the web server (web.Attester) over the gate and the data
// directory's signer.
type attester struct {
	g         *gate.Gate
	signer    *attest.Signer
	verifyURL string
}

func (a *attester) Issue(ctx context.Context, kind, affiliation, imm, from, to string) ([]byte, *attest.Summary, error) {
	docs, errs, err := a.g.Attestations(ctx, []gate.AttestationRequest{{Kind: kind, Affiliation: affiliation, Imm: imm, From: from, To: to}})
	if err != nil {
		return nil, nil, err
	}
	if errs[0] != nil {
		return nil, nil, errs[0]
	}
	pdf, err := batch.RenderSigned(docs[0], a.verifyURL, a.signer)
	if err != nil {
		return nil, nil, err
	}
	return pdf, &docs[0].Summary, nil
}

func (a *attester) Status(ctx context.Context, code string) (*attest.Summary, string, error) {
	return a.g.AttestationStatus(ctx, code)
}

// maxAttestationFile bounds what `amane verify` reads. An attestation Amane signs is a few hundred
// KiB at most (a 12-month nominative list of the largest employer is paged, not inlined); 16 MiB
// leaves room for any genuine one and keeps a hostile input — /dev/zero, a pipe, a huge file — from
// taking the memory of the machine that checks it.
const maxAttestationFile = 16 << 20

// readAttestation reads the PDF to verify: a regular file of at most maxAttestationFile bytes.
func readAttestation(path string) ([]byte, error) {
	name := filepath.Base(path)
	fi, err := os.Stat(path) // before opening: opening a FIFO would wait for a writer
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, amane.Errorf(amane.EINVALID, "%s is not a regular file: give the attestation's PDF file.", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, amane.Errorf(amane.EINVALID, "%s is not a regular file: give the attestation's PDF file.", name)
	}
	tooBig := amane.Errorf(amane.EINVALID, "%s is larger than %d MiB: no attestation is.", name, maxAttestationFile>>20)
	if fi.Size() > maxAttestationFile {
		return nil, tooBig
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAttestationFile+1)) // the file may grow meanwhile
	if err != nil {
		return nil, err
	}
	if len(b) > maxAttestationFile {
		return nil, tooBig
	}
	return b, nil
}
