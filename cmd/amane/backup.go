package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"amane"
	"amane/backup"
	"amane/journal"
	"amane/postgres"
	"amane/vault"

	"filippo.io/age"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// recipientsFile lists the age recipients backups are encrypted to, one per line, # comments.
const recipientsFile = "backup-recipients.txt"

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "keygen":
			return cmdBackupKeygen(args[1:], stdout, stderr)
		case "verify":
			return cmdBackupVerify(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	var d dataFlags
	fs.StringVar(&d.dir, "data", "", "data directory")
	fs.StringVar(&d.db, "db", "", "store: postgres://… (default: $AMANE_DATABASE_URL, else the one set at init, else DIR/amane.db)")
	out := fs.String("out", "", "backup file to write (mode 0600; written under a temporary name, then renamed)")
	var recips []string
	fs.Func("recipient", "age recipient (age1…) to encrypt to; repeatable (default: the lines of DIR/"+recipientsFile+")", func(s string) error {
		recips = append(recips, s)
		return nil
	})
	recFile := fs.String("recipients-file", "", "file of age recipients, one per line, # comments (default DIR/"+recipientsFile+")")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: amane backup --data DIR --out FILE [--recipient age1…] [--recipients-file F]", errUsage)
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	recipients, err := backupRecipients(d.dir, recips, *recFile)
	if err != nil {
		return err
	}
	// The store's rows are ciphertext already: a backup needs no key-encryption key.
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	sum, size, err := writeBackup(ctx, st, *out, recipients, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s (%s, %d rows: %s) in %s, encrypted to %d recipient(s).\n", *out, humanBytes(size), sum.Total(),
		rowCounts(sum), time.Since(start).Round(time.Millisecond), len(recipients))
	fmt.Fprintf(stdout, "Restoring it needs an identity of a recipient and this registry's keys (%s): the backup holds neither.\n", keysNeeded(sum))
	return nil
}

// writeBackup writes the backup to a temporary file beside out, then renames it: a failed backup
// leaves no file.
func writeBackup(ctx context.Context, st amane.BackupStore, out string, recipients []age.Recipient, stderr io.Writer) (*backup.Summary, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, 0, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return nil, 0, err
	}
	var progress func(int)
	if isTerminal(stderr) {
		bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("backup"),
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		progress = func(n int) { bar.Set(n) }
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err := backup.Write(ctx, st, w, recipients, progress)
	if err != nil {
		return nil, 0, err
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	if err := f.Sync(); err != nil {
		return nil, 0, err
	}
	if err := f.Close(); err != nil {
		return nil, 0, err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return nil, 0, err
	}
	done = true
	if dir, err := os.Open(filepath.Dir(out)); err == nil { // make the rename durable
		dir.Sync()
		dir.Close()
	}
	return sum, size, nil
}

// backupRecipients parses --recipient values and the recipients file: --recipients-file, else
// DIR/backup-recipients.txt when no --recipient is given.
func backupRecipients(dir string, values []string, file string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, v := range values {
		r, err := parseRecipient(v)
		if err != nil {
			return nil, fmt.Errorf("%w: --recipient: %v", errUsage, err)
		}
		out = append(out, r)
	}
	if file == "" && len(values) == 0 {
		file = filepath.Join(dir, recipientsFile)
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			file = ""
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			r, err := parseRecipient(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, i+1, err)
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no backup recipient: list age recipients (age1…) in %s, or pass --recipient or --recipients-file (amane backup keygen makes a key pair)",
			errUsage, filepath.Join(dir, recipientsFile))
	}
	return out, nil
}

// parseRecipient parses one recipient; its errors never quote the value (it might be a secret key
// pasted by mistake).
func parseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
		return nil, errors.New("this is an age identity (a secret key), not a recipient: give the public key age1…")
	}
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err != nil || len(rs) != 1 {
		return nil, errors.New("not an age recipient (age1…)")
	}
	return rs[0], nil
}

func cmdBackupKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup keygen", flag.ContinueOnError)
	out := fs.String("out", "", "identity file to create (mode 0600; an existing file is never overwritten)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: amane backup keygen --out FILE", errUsage)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return amane.Errorf(amane.ECONFLICT, "%s exists: keygen never overwrites an identity (the backups made for it would be lost).", *out)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "# amane backup identity, created %s\n# recipient: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "Recipient: %s\n", id.Recipient())
	fmt.Fprintf(stdout, "Wrote the identity (secret key) to %s. Keep it apart from the data directory, its store and its keyring,\n", *out)
	fmt.Fprintf(stdout, "and keep a copy: without it no backup made for this recipient can be restored.\n")
	fmt.Fprintf(stdout, "Encrypt backups to it: add the recipient to DIR/%s, or pass --recipient.\n", recipientsFile)
	for _, f := range []string{configFile, keyringFile, dbFile} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(*out), f)); err == nil {
			fmt.Fprintf(stderr, "amane: warning: %s is in a data directory; move it elsewhere.\n", *out)
			break
		}
	}
	return nil
}

// readIdentities reads the age identities from the file named by --identity, else by
// AMANE_BACKUP_IDENTITY_FILE. The key itself is never a flag value.
func readIdentities(file string) ([]age.Identity, error) {
	if file == "" {
		file = os.Getenv("AMANE_BACKUP_IDENTITY_FILE")
	}
	if file == "" {
		return nil, fmt.Errorf("%w: --identity FILE is required (or set AMANE_BACKUP_IDENTITY_FILE)", errUsage)
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(file)), "AGE-SECRET-KEY-") {
		return nil, fmt.Errorf("%w: --identity takes the name of a file holding the key, never the key itself (command lines are visible to every user)", errUsage)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", file, err)
	}
	return ids, nil
}

// parseArgs parses flags that may come before or after the positional arguments, and returns those.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, stderr); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

func cmdBackupVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup verify", flag.ContinueOnError)
	identity := fs.String("identity", "", "file holding the age identity (default: $AMANE_BACKUP_IDENTITY_FILE)")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: amane backup verify --identity FILE BACKUP", errUsage)
	}
	ids, err := readIdentities(*identity)
	if err != nil {
		return err
	}
	r, closeFile, err := openBackup(pos[0], "verifying", stderr)
	if err != nil {
		return err
	}
	defer closeFile()
	sum, err := backup.Verify(r, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is complete and intact.\n", pos[0])
	printSummary(stdout, sum)
	return nil
}

// openBackup opens a backup file for reading, with a progress bar on a terminal.
func openBackup(path, what string, stderr io.Writer) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r := io.Reader(bufio.NewReaderSize(f, 1<<20))
	if st, err := f.Stat(); err == nil && isTerminal(stderr) {
		bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(what),
			progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish())
		r = io.TeeReader(r, bar)
		return r, func() { bar.Finish(); f.Close() }, nil
	}
	return r, func() { f.Close() }, nil
}

func printSummary(w io.Writer, sum *backup.Summary) {
	fmt.Fprintf(w, "  format:  %s\n", sum.Format)
	fmt.Fprintf(w, "  created: %s\n", sum.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "  source:  %s\n", sum.Source)
	fmt.Fprintf(w, "  rows:    %d (%s)\n", sum.Total(), rowCounts(sum))
	fmt.Fprintf(w, "  keys:    %s\n", keysNeeded(sum))
	fmt.Fprintf(w, "  sha256:  %s\n", sum.SHA256)
}

func rowCounts(sum *backup.Summary) string {
	var parts []string
	for _, k := range backup.Kinds {
		if sum.Rows[k] == 0 && backup.Optional(k) {
			continue // a kind added after v1, absent: printed as every older version did
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, sum.Rows[k]))
	}
	return strings.Join(parts, ", ")
}

// keysNeeded names the key-encryption key versions that wrap the backup's data keys.
func keysNeeded(sum *backup.Summary) string {
	var vs []uint32
	for v := range sum.KeyVersions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("version %d: %d", v, sum.KeyVersions[v]))
	}
	if len(parts) == 0 {
		return "no data key"
	}
	return "data keys wrapped by key-encryption key " + strings.Join(parts, ", ")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	from := fs.String("from", "", "backup file")
	identity := fs.String("identity", "", "file holding the age identity (default: $AMANE_BACKUP_IDENTITY_FILE)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if d.dir == "" || *from == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: amane restore --data DIR --from FILE --identity FILE", errUsage)
	}
	ids, err := readIdentities(*identity)
	if err != nil {
		return err
	}
	c, create, err := restoreConfig(&d)
	if err != nil {
		return err
	}
	// The keys first: the backup's data keys are wrapped by the source's key-encryption keys.
	km, err := openCustody(&d, c)
	if err != nil {
		return err
	}
	if km.close != nil {
		defer km.close()
	}
	indexKey, err := km.indexKey(1) // the restored store's own index version is checked after the restore
	if err != nil {
		return err
	}
	v, err := vault.New(km.custody, indexKey)
	if err != nil {
		return err
	}
	if create {
		if err := os.MkdirAll(d.dir, 0o700); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, d.dir, c.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	if create {
		b, _ := json.MarshalIndent(c, "", "  ")
		if err := os.WriteFile(filepath.Join(d.dir, configFile), append(b, '\n'), 0o600); err != nil {
			return err
		}
	}
	r, closeFile, err := openBackup(*from, "restoring", stderr)
	if err != nil {
		return err
	}
	defer closeFile()
	start := time.Now()
	sum, err := backup.RestoreWith(ctx, st, r, ids, backup.RestoreOptions{
		// Rewrapping unwraps the data key under the target's keys and opens no field.
		CheckKey: func(ref amane.DataKeyRef, k amane.WrappedKey) error {
			if _, _, err := v.Rewrap(ref.VaultSubject(), k.Version, k.Blob); err != nil {
				return fmt.Errorf("%w (restore needs the source registry's keyring or HSM keys)", err)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	where := filepath.Join(d.dir, dbFile)
	if c.DB != "" {
		where = "PostgreSQL"
	}
	fmt.Fprintf(stdout, "Restored %s into %s (store: %s) in %s: %d rows (%s).\n", *from, d.dir, where,
		time.Since(start).Round(time.Millisecond), sum.Total(), rowCounts(sum))
	fmt.Fprintf(stdout, "The backup was taken %s from a %s store; its operator tokens are valid here.\n", sum.Created.Format(time.RFC3339), sum.Source)
	return nil
}

// restoreConfig reads DIR's configuration with the store URL resolved. A directory that has only
// the keyring (or --keyring) gets a new configuration, written once its store opens.
func restoreConfig(d *dataFlags) (*config, bool, error) {
	if d.dir == "" {
		return nil, false, fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	c, err := d.readConfig()
	if err == nil {
		c.DB = d.dbURL(c)
		return c, false, nil
	}
	if _, serr := os.Stat(filepath.Join(d.dir, configFile)); !errors.Is(serr, os.ErrNotExist) {
		return nil, false, err
	}
	if _, kerr := os.Stat(d.keyringPath()); kerr != nil {
		return nil, false, fmt.Errorf("%s has no %s and no keyring at %s: the backup's data keys are wrapped by the source's keys. "+
			"Copy the source's %s there (or pass --keyring FILE); with an HSM, copy its %s and %s; and the journal's %s and %s", d.dir, configFile, d.keyringPath(),
			keyringFile, configFile, indexKeyFile, journal.SignerFile, journal.VerifierFile)
	}
	c = &config{DB: d.dbURL(&config{})}
	if c.DB != "" && !postgres.IsURL(c.DB) {
		return nil, false, fmt.Errorf("%w: --db must be a postgres:// URL", errUsage)
	}
	if userinfo, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(c.DB, "postgresql://"), "postgres://"), "@"); ok && strings.Contains(userinfo, ":") {
		return nil, false, fmt.Errorf("%w: keep the database password out of the URL: set PGPASSWORD or use ~/.pgpass", errUsage)
	}
	return c, true, nil
}
