// Command amane runs the Amane registry. Its commands are listed by `amane help` (the usage below,
// which TestHelpListsEveryCommand checks against run's switch): demo and init; load, synth, declare,
// employer and employee show, declaration, employment validate and preetabli; attest and verify;
// keys, erase, backup and restore; journal; account and token; sentinel and canary; case; serve. It only
// wires the packages together; see docs/architecture.md. The benchmarks are a command of their own,
// cmd/amane-bench, so that this binary does not link them (TestProductionBinaryDeps).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"amane"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `amane — the encrypted social-security registry

Usage:
  amane demo [--data DIR] [--addr HOST:PORT]       run the demo registry (first run builds it)
  amane init --data DIR [--db postgres://…] [--hsm-module LIB --hsm-token LABEL]
                                                    create a data directory, its keys, its store and an operator token
  amane load --data DIR ADHERENTS.csv SALARIES.csv  import employers and insured employees
  amane synth --employers N --employees M --seed S --out DIR [--months K [--last-period AAAAMM]]
                                                    write a synthetic ADHERENTS.csv and SALARIES.csv, and K
                                                    months of Damancom declarations (DIR/declarations/)
  amane employer show --data DIR --affiliation N    print an employer and its employees (JSON)
  amane employee show --data DIR (--cin X | --imm N)
                                                    print an insured person (JSON)
  amane serve --data DIR [--addr HOST:PORT]         serve the JSON API
        [--trusted-proxy CIDR]... [--metrics-addr HOST:PORT]
        [--case-binding [--break-glass-per-day N]]  staff reads bound to their open cases, or a reason
  amane declare --data DIR FILE... [--report F]   load Damancom declarations (DS_, DSC, or bulk files of many);
                                                    each is checked whole: one with any error is refused, the others stored
  amane declaration show --data DIR --affiliation N --period AAAAMM
                                                    a period's declarations with lines, totals, contributions (JSON)
  amane declaration export --data DIR --affiliation N --period AAAAMM [--out FILE]
                                                    a stored declaration back as its DS_ file
  amane declaration seal --data DIR                 seal the figures of declarations stored before seals
                                                    existed, once their sealed lines confirm them
  amane employment validate --data DIR --affiliation N --imm N --reference REF
                                                    validate a pending employment (a B04 for a person declared
                                                    elsewhere) once the declared identity matches the registry's
  amane preetabli --data DIR --affiliation N --period AAAAMM [--out FILE]
                                                    the préétabli CNSS sends the employer (AFFEBDS_ file)
  amane attest --data DIR --affiliation N [--kind K] [--from P --to P] --out FILE.pdf
                                                    a signed attestation: salaries-declares (nominative, the employer's),
                                                    affiliation-declaration (third parties, no names), salaire (--imm N)
  amane attest --data DIR --all [--period P] [--limit N] --out DIR
                                                    one per declaring employer, largest first, in parallel
  amane attest revoke --data DIR --reason TEXT CODE
  amane verify (--trust CA.pem | --data DIR) FILE.pdf
                                                    offline: signature, chain, byte range, QR code, visible figures
  amane keys status|rotate|retire VERSION|reindex --data DIR
                                                    key-encryption key versions: list, rotate (online), retire
  amane erase --data DIR --imm N --reason TEXT      erase an insured person (destroy their data key)
  amane backup keygen --out FILE                    make an age key pair for backups, print its recipient
  amane backup --data DIR --out FILE [--recipient age1…]
                                                    encrypted, consistent snapshot while serving (default
                                                    recipients: DIR/backup-recipients.txt)
  amane backup verify --identity F FILE             check a backup without restoring it
  amane restore --data DIR --from FILE --identity F restore into an empty store
  amane journal verify --data DIR | check-proof --verifier F PROOF
                                                    check the access journal against its signed checkpoints
  amane journal prove --data DIR --index N [--out F] | --from N --to M
                                                    an entry's inclusion proof, or a consistency proof (JSON)
  amane account add --data DIR --login HANDLE --role ROLE [--agency A | --affiliation N | --imm N] --password-file F
  amane account list --data DIR                     accounts: staff register a passkey at first sign-in
  amane token create --data DIR --role ROLE [--agency A | --affiliation N | --imm N] [--ttl D]
  amane token revoke --data DIR --id N              scoped, expiring bearer tokens (printed once, stored hashed)
  amane sentinel replay --events F.jsonl [--canaries F] [--config F] | simulate --days 30 --agents 300 --employers 20000 --attack P --seed S [--events-out F]
  amane canary plant --data DIR --count N [--employees-per K] | list --data DIR [--json]
                                                    plant canary employers and insured people (listed in DIR/canaries); list them
  amane case open --data DIR --type T --number XXX-AAAA/NNNN --origin O (--employee IMM | --employer AFF | --record REF)...
        [--staff account/N]... [--team AGENCY]
                                                    open a case (dossier): types immatriculation (DOS-), demande (PRE-),
                                                    reclamation (REC-), controle (CTL-), contentieux (CTX-), droits (DRT-),
                                                    traitement (TRT-); origins guichet, courrier, portail, telephone,
                                                    mission, planification, declaration/ID, imm_request/ID
  amane case assign --data DIR --number N [--staff account/N]... [--team AGENCY] [--employee IMM | --employer AFF | --record REF]...
  amane case close --data DIR --number N
  amane case list --data DIR [--staff P] [--team AGENCY] [--employee IMM | --employer AFF | --record REF] [--limit N]
  amane case show --data DIR --number N             open cases (JSON); every act journaled with the case number

Roles: agent (--agency), supervisor, employer (--affiliation), insured (--imm), dpo, security, auditor.
Staff state a purpose for every access to personal data (HTTP headers X-Amane-Purpose, X-Amane-Reference);
codes are listed in DIR/purposes.json (default: dossier, prestation, controle, reclamation, contentieux, droits-0908),
each with the pattern of its references (default: DOS-AAAA/NNNN for dossier, PRE-, CTL-, REC-, CTX-, DRT-).

Every command that takes --data also takes --db postgres://… (or $AMANE_DATABASE_URL).

The keyring passphrase comes from AMANE_PASSPHRASE or --passphrase-file, never from a flag value.

The benchmarks are a command of their own, outside this binary: go run ./cmd/amane-bench help.
`

// run is the whole CLI, callable from tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "init":
		err = cmdInit(ctx, args[1:], stdout, stderr)
	case "load":
		err = cmdLoad(ctx, args[1:], stdout, stderr)
	case "synth":
		err = cmdSynth(ctx, args[1:], stdout, stderr)
	case "employer":
		err = cmdShow(ctx, "employer", args[1:], stdout, stderr)
	case "employee":
		err = cmdShow(ctx, "employee", args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "bench":
		fmt.Fprintln(stderr, benchMoved)
		return 2
	case "keys":
		err = cmdKeys(ctx, args[1:], stdout, stderr)
	case "erase":
		err = cmdErase(ctx, args[1:], stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args[1:], stdout, stderr)
	case "journal":
		err = cmdJournal(ctx, args[1:], stdout, stderr)
	case "declare":
		err = cmdDeclare(ctx, args[1:], stdout, stderr)
	case "declaration":
		err = cmdDeclaration(ctx, args[1:], stdout, stderr)
	case "employment":
		err = cmdEmployment(ctx, args[1:], stdout, stderr)
	case "preetabli":
		err = cmdPreetabli(ctx, args[1:], stdout, stderr)
	case "attest":
		err = cmdAttest(ctx, args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, args[1:], stdout, stderr)
	case "account":
		err = cmdAccount(ctx, args[1:], stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "sentinel":
		err = cmdSentinel(ctx, args[1:], stdout, stderr)
	case "canary":
		err = cmdCanary(ctx, args[1:], stdout, stderr)
	case "case":
		err = cmdCase(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "amane: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		printError(stderr, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// benchMoved answers `amane bench …`: the benchmarks (package bench, with its pass-through wiring and
// the headless browser it drives) are not linked into the production binary.
const benchMoved = "amane: the benchmarks are a command of their own, outside this binary: go run ./cmd/amane-bench registry|gate|journal|declarations|attest|sentinel …"

// printError prints an application error's message and every field problem, one per line, the way a
// compiler does (file:line: field: rule); any other error as it is.
func printError(w io.Writer, err error) {
	var ae *amane.Error
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			fmt.Fprintln(w, f.String())
		}
		fmt.Fprintf(w, "amane: %s\n", ae.Message)
		return
	}
	fmt.Fprintf(w, "amane: %v\n", err)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
