package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"amane/keys"
	"amane/vault"
)

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: amane keys status|rotate|retire VERSION|reindex --data DIR", errUsage)
	}
	sub, rest := args[0], args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") { // "retire 1 --data DIR": the version first
		rest = append(append([]string{}, rest[1:]...), rest[0])
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	settle := fs.Duration("settle", 6*time.Second, "rotate: after the last pass, wait this long (longer than a running server's key refresh) and check again")
	if err := parseFlags(fs, rest, stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	switch sub {
	case "status":
		st, err := keys.Status(ctx, reg.store, reg.custody)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"versions": st})
	case "rotate":
		v, err := reg.custody.AddVersion()
		if err != nil {
			return err
		}
		if err := reg.keys.rotated(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Key-encryption key version %d is current; rewrapping data keys…\n", v)
		start := time.Now()
		n, err := keys.Rewrap(ctx, reg.store, reg.vault, reg.custody, keys.RewrapOptions{Settle: *settle})
		if err != nil {
			return fmt.Errorf("rotation stopped after %d data keys (run amane keys rotate again to finish under a newer version): %w", n, err)
		}
		fmt.Fprintf(stdout, "Rewrapped %d data keys in %s. Older versions can now be retired (amane keys retire VERSION).\n", n, time.Since(start).Round(time.Millisecond))
		return nil
	case "reindex":
		v, key, err := reg.keys.addIndexKey()
		if err != nil {
			return err
		}
		next, err := vault.New(reg.custody, key)
		clear(key)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Blind-index key version %d created; recomputing every index in one transaction (writers wait)…\n", v)
		start := time.Now()
		n, err := reg.gate.Reindex(systemContext(ctx, "keys reindex"), next, v, nil)
		if err != nil {
			return fmt.Errorf("reindex rolled back, the store still uses its previous index key: %w", err)
		}
		fmt.Fprintf(stdout, "Reindexed %d records under blind-index key version %d in %s. Restart any running amane serve.\n", n, v, time.Since(start).Round(time.Millisecond))
		return nil
	case "retire":
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: amane keys retire VERSION --data DIR", errUsage)
		}
		n, err := strconv.ParseUint(fs.Arg(0), 10, 32)
		if err != nil {
			return fmt.Errorf("%w: VERSION must be a number", errUsage)
		}
		if err := keys.Retire(ctx, reg.store, reg.custody, uint32(n)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Key-encryption key version %d destroyed.\n", n)
		return nil
	}
	return fmt.Errorf("%w: amane keys status|rotate|retire VERSION|reindex --data DIR", errUsage)
}

func cmdErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	imm := fs.String("imm", "", "the insured person's immatriculation number")
	reason := fs.String("reason", "", "legal ground, e.g. \"retention limit (law 09-08 art. 8)\" — recorded with the erasure; no personal data")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *imm == "" || *reason == "" {
		return fmt.Errorf("%w: amane erase --data DIR --imm N --reason TEXT", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	id, err := reg.gate.EraseEmployee(systemContext(ctx, "erase"), *imm, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Erased insured person #%d: data key, ciphertext and search indexes destroyed; employments kept for headcounts; erasure recorded.\n", id)
	return nil
}
