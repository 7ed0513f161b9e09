package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"amane/journal"
)

// cmdJournal: amane journal verify --data DIR | amane journal check-proof --verifier FILE PROOF.
// Neither needs the keyring: the journal holds no personal data and its checkpoints are checked with
// the public verifier key.
func cmdJournal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: amane journal verify --data DIR | amane journal check-proof --verifier FILE PROOF", errUsage)
	}
	switch args[0] {
	case "verify":
		return journalVerify(ctx, args[1:], stdout, stderr)
	case "check-proof":
		return journalCheckProof(args[1:], stdout, stderr)
	case "prove":
		return journalProve(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown journal command %q (verify, check-proof)", errUsage, args[0])
}

func journalVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("journal verify", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	verifierPath := fs.String("verifier", "", "the journal's verifier key (default DIR/"+journal.VerifierFile+")")
	witnessPath := fs.String("witness", "", "witness file of checkpoints to check too (default DIR/"+journal.WitnessFile+" when it exists)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	if *verifierPath == "" {
		*verifierPath = filepath.Join(d.dir, journal.VerifierFile)
	}
	v, err := journal.ReadVerifier(*verifierPath)
	if err != nil {
		return err
	}
	var witness []byte
	if *witnessPath == "" {
		if b, err := os.ReadFile(filepath.Join(d.dir, journal.WitnessFile)); err == nil {
			witness, *witnessPath = b, filepath.Join(d.dir, journal.WitnessFile)
		}
	} else if witness, err = os.ReadFile(*witnessPath); err != nil {
		return err
	}
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return err
	}
	defer st.Close()
	var r *journal.Report
	if *witnessPath != "" {
		r, err = journal.VerifyWitness(ctx, st, v, witness)
	} else {
		r, err = journal.Verify(ctx, st, v)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "journal: %d entries, %d checkpoints checked, signed up to %d (%d not yet signed)\n", r.Size, r.Checkpoints, r.Signed, r.Unsigned())
	if *witnessPath != "" {
		fmt.Fprintf(stdout, "witness: %s\n", *witnessPath)
	}
	if r.OK() {
		fmt.Fprintln(stdout, "journal: intact")
		return nil
	}
	for _, p := range r.Problems {
		fmt.Fprintf(stderr, "journal: %s\n", p)
	}
	return fmt.Errorf("the journal was tampered with: first bad entry at index %d", r.FirstBad)
}

func journalCheckProof(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("journal check-proof", flag.ContinueOnError)
	verifierPath := fs.String("verifier", "", "the journal's verifier key file (DIR/"+journal.VerifierFile+")")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *verifierPath == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: amane journal check-proof --verifier FILE PROOF", errUsage)
	}
	v, err := journal.ReadVerifier(*verifierPath)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := journal.CheckProof(data, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: proof valid\n", fs.Arg(0))
	return nil
}

// journalProve writes an inclusion proof of one entry (--index) or a consistency proof between two
// checkpointed sizes (--from, --to), signing a checkpoint first if the tree grew since the last one.
func journalProve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("journal prove", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	index := fs.Int64("index", -1, "the entry to prove")
	from := fs.Int64("from", 0, "consistency: the older checkpoint's size")
	to := fs.Int64("to", 0, "consistency: the newer checkpoint's size (default: the latest)")
	out := fs.String("out", "", "write the proof to this file (default: standard output)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if (*index < 0) == (*from <= 0) {
		return fmt.Errorf("%w: amane journal prove --data DIR (--index N | --from N [--to M]) [--out FILE]", errUsage)
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return err
	}
	defer st.Close()
	j, err := openJournal(ctx, d.dir, st)
	if err != nil {
		return err
	}
	size, err := j.Checkpoint(ctx)
	j.Close()
	if err != nil {
		return err
	}
	var proof any
	if *index >= 0 {
		proof, err = journal.ProveInclusion(ctx, st, *index)
	} else {
		if *to == 0 {
			*to = size
		}
		proof, err = journal.ProveConsistency(ctx, st, *from, *to)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(proof, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}
