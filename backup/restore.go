package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"amane"

	"filippo.io/age"
)

// ErrNotEmpty is returned by Restore when the target store already holds employers, employees or
// data keys.
var ErrNotEmpty = errors.New("backup: the target store is not empty: restore only into a new, empty store")

// maxLine bounds one line of the plaintext; rows are a few kilobytes.
const maxLine = 16 << 20

// Flags of an employee id seen in the backup.
const (
	seen = 1 << iota
	keyed
	erased
)

// reader decrypts a backup and returns its rows, checking each one, then the trailer.
type reader struct {
	br        *bufio.Reader
	h         hash.Hash
	line      int
	sum       *Summary
	employers map[int64]bool
	employees map[int64]uint8
	accounts  map[int64]bool
	logins    map[string]bool
	tokens    map[int64]bool
	// The journal's rows come in increasing order per table (entry and hash index, checkpoint size):
	// the last of each is enough to refuse a repeated or reordered row.
	lastEntry, lastHash, lastCheckpoint int64
}

func (rd *reader) errf(format string, args ...any) error {
	return fmt.Errorf("backup: line %d: "+format, append([]any{rd.line}, args...)...)
}

// open decrypts r and reads the header.
func open(r io.Reader, identities []age.Identity) (*reader, error) {
	if len(identities) == 0 {
		return nil, errors.New("backup: no identity")
	}
	dr, err := age.Decrypt(r, identities...)
	if err != nil {
		return nil, fmt.Errorf("backup: cannot decrypt: %w", err)
	}
	rd := &reader{br: bufio.NewReaderSize(dr, 256<<10), h: sha256.New(), sum: &Summary{Rows: newRows(), KeyVersions: map[uint32]int64{}},
		employers: map[int64]bool{}, employees: map[int64]uint8{}, accounts: map[int64]bool{}, logins: map[string]bool{}, tokens: map[int64]bool{},
		lastEntry: -1, lastHash: -1, lastCheckpoint: 0}
	line, err := rd.readLine()
	if err != nil {
		return nil, err
	}
	var h header
	if err := decode(line, &h); err != nil {
		return nil, rd.errf("not an Amane backup header (%s)", err)
	}
	if h.Format != Format {
		return nil, rd.errf("unknown format %.40q, want %q", h.Format, Format)
	}
	created, err := time.Parse(time.RFC3339, h.Created)
	if err != nil {
		return nil, rd.errf("the header's creation time is not RFC 3339")
	}
	if h.Source == "" {
		return nil, rd.errf("the header names no source store")
	}
	rd.sum.Format, rd.sum.Created, rd.sum.Source = h.Format, created, h.Source
	rd.h.Write(line)
	return rd, nil
}

// readLine returns the next line with its "\n".
func (rd *reader) readLine() ([]byte, error) {
	rd.line++
	var buf []byte
	for {
		frag, err := rd.br.ReadSlice('\n')
		switch {
		case err == nil && buf == nil:
			return frag, nil
		case err == nil:
			return append(buf, frag...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(buf)+len(frag) > maxLine {
				return nil, rd.errf("line longer than %d bytes", maxLine)
			}
			buf = append(buf, frag...)
		case errors.Is(err, io.EOF) && len(buf)+len(frag) == 0:
			return nil, rd.errf("the backup ends without its trailer: it is incomplete")
		case errors.Is(err, io.EOF):
			return nil, rd.errf("the backup ends in the middle of a line: it is incomplete")
		default:
			return nil, rd.errf("cannot decrypt (the file was altered or truncated): %v", err)
		}
	}
}

// next returns the next row and its kind, or nil once the trailer has been checked and nothing
// follows it.
func (rd *reader) next() (*row, string, error) {
	line, err := rd.readLine()
	if err != nil {
		return nil, "", err
	}
	if bytes.HasPrefix(line, trailerPrefix) {
		return nil, "", rd.finish(line)
	}
	rd.h.Write(line)
	var r row
	if err := decode(line, &r); err != nil {
		return nil, "", rd.errf("not a valid row (%s)", err)
	}
	kind, err := r.kind()
	if err != nil {
		return nil, "", rd.errf("%v", err)
	}
	if err := rd.check(&r); err != nil {
		return nil, "", err
	}
	rd.sum.Rows[kind]++
	return &r, kind, nil
}

// check enforces what a restore needs of a row: ids that are unique and rows that refer to rows
// before them.
func (rd *reader) check(r *row) error {
	switch {
	case r.Agency != nil:
		if r.Agency.Code == "" {
			return rd.errf("agency without a code")
		}
	case r.Employer != nil:
		e := r.Employer
		if e.ID <= 0 || e.Affiliation == "" {
			return rd.errf("employer without an id or an affiliation")
		}
		if rd.employers[e.ID] {
			return rd.errf("employer %d appears twice", e.ID)
		}
		rd.employers[e.ID] = true
		if len(e.Key.Blob) > 0 {
			rd.sum.KeyVersions[e.Key.Version]++
		}
	case r.Employee != nil:
		e := r.Employee
		if e.ID <= 0 || len(e.ImmIndex) == 0 {
			return rd.errf("employee without an id or an immatriculation index")
		}
		if rd.employees[e.ID] != 0 {
			return rd.errf("employee %d appears twice", e.ID)
		}
		f := uint8(seen)
		if len(e.Key.Blob) > 0 {
			f |= keyed
			rd.sum.KeyVersions[e.Key.Version]++
		}
		rd.employees[e.ID] = f
	case r.DataKey != nil:
		k := r.DataKey
		if (k.Kind != amane.KeyHistory && k.Kind != amane.KeyRequest) || k.Subject <= 0 || len(k.Blob) == 0 {
			return rd.errf("a data key of an unknown kind, or without subject or key")
		}
		rd.sum.KeyVersions[k.Version]++
	case r.Employment != nil:
		j := r.Employment
		if rd.employees[j.EmployeeID]&seen == 0 {
			return rd.errf("employment of employee %d, who is not in the backup before it", j.EmployeeID)
		}
		if !rd.employers[j.EmployerID] {
			return rd.errf("employment with employer %d, which is not in the backup before it", j.EmployerID)
		}
	case r.OperatorToken != nil:
		if len(r.OperatorToken.Hash) == 0 {
			return rd.errf("operator token without a hash")
		}
	case r.Setting != nil:
		if r.Setting.Name == "" {
			return rd.errf("setting without a name")
		}
	case r.Erasure != nil:
		id := r.Erasure.EmployeeID
		f := rd.employees[id]
		switch {
		case f&seen == 0:
			return rd.errf("erasure of employee %d, who is not in the backup before it", id)
		case f&erased != 0:
			return rd.errf("employee %d is erased twice", id)
		case f&keyed != 0:
			return rd.errf("employee %d is erased but still has a data key", id)
		}
		rd.employees[id] = f | erased
	case r.Account != nil:
		a := r.Account
		if a.ID <= 0 {
			return rd.errf("account without an id")
		}
		if rd.accounts[a.ID] {
			return rd.errf("account %d appears twice", a.ID)
		}
		if rd.logins[a.Login] { // the login is a handle, never personal data; still, the message names the id only
			return rd.errf("account %d: its login is another account's", a.ID)
		}
		rd.accounts[a.ID], rd.logins[a.Login] = true, true
	case r.Passkey != nil:
		p := r.Passkey
		if len(p.ID) == 0 {
			return rd.errf("passkey without a credential id")
		}
		if !rd.accounts[p.AccountID] {
			return rd.errf("passkey of account %d, which is not in the backup before it", p.AccountID)
		}
	case r.Token != nil:
		tk := r.Token
		if tk.ID <= 0 || len(tk.Hash) == 0 {
			return rd.errf("token without an id or a hash")
		}
		if rd.tokens[tk.ID] {
			return rd.errf("token %d appears twice", tk.ID)
		}
		rd.tokens[tk.ID] = true
	case r.Journal != nil:
		return rd.checkJournal(r.Journal)
	}
	return nil
}

// checkJournal checks one journal row: exactly its kind's fields, in increasing order per kind.
func (rd *reader) checkJournal(j *amane.JournalRow) error {
	switch j.Kind {
	case "entry":
		if len(j.Entry) == 0 || j.Hash != nil || j.Size != 0 || j.Signed != nil {
			return rd.errf("journal entry %d: an entry has an index, its bytes and a record reference only", j.Index)
		}
		if j.Index <= rd.lastEntry {
			return rd.errf("journal entry %d after entry %d: entries must come once each, in index order", j.Index, rd.lastEntry)
		}
		rd.lastEntry = j.Index
	case "hash":
		if len(j.Hash) != sha256.Size || j.Entry != nil || j.Record != "" || j.Size != 0 || j.Signed != nil {
			return rd.errf("journal hash %d: a stored hash has an index and %d bytes only", j.Index, sha256.Size)
		}
		if j.Index <= rd.lastHash {
			return rd.errf("journal hash %d after hash %d: stored hashes must come once each, in index order", j.Index, rd.lastHash)
		}
		rd.lastHash = j.Index
	case "checkpoint":
		if j.Size <= 0 || len(j.Signed) == 0 || j.Index != 0 || j.Entry != nil || j.Record != "" || j.Hash != nil {
			return rd.errf("journal checkpoint: a checkpoint has a size and a signed note only")
		}
		if j.Size <= rd.lastCheckpoint {
			return rd.errf("journal checkpoint of size %d after size %d: checkpoints must come once each, by size", j.Size, rd.lastCheckpoint)
		}
		rd.lastCheckpoint = j.Size
	default:
		return rd.errf("journal row of unknown kind %.20q", j.Kind)
	}
	return nil
}

// finish checks the trailer and that nothing follows it.
func (rd *reader) finish(line []byte) error {
	var t trailer
	if err := decode(line, &t); err != nil || !t.End {
		return rd.errf("not a valid trailer")
	}
	sum := hex.EncodeToString(rd.h.Sum(nil))
	if t.SHA256 != sum {
		return rd.errf("the SHA-256 of the lines before the trailer does not match the trailer's")
	}
	for _, k := range Kinds {
		if t.Rows[k] != rd.sum.Rows[k] { // a kind absent from an older trailer counts zero
			return rd.errf("the trailer counts %d %s rows, the backup holds %d", t.Rows[k], k, rd.sum.Rows[k])
		}
	}
	for k := range t.Rows {
		if _, ok := rd.sum.Rows[k]; !ok {
			return rd.errf("the trailer counts a kind of row this version does not know")
		}
	}
	switch _, err := rd.br.ReadByte(); {
	case err == nil:
		return rd.errf("data after the trailer")
	case !errors.Is(err, io.EOF):
		return rd.errf("cannot decrypt after the trailer (the file was altered or truncated): %v", err)
	}
	rd.sum.SHA256 = sum
	return nil
}

// decode parses one JSON line strictly. Its errors name a byte offset or a field, never a value.
func decode(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return errors.New("more than one JSON value")
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var be base64.CorruptInputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return fmt.Errorf("JSON syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %s is not a %s", te.Field, te.Type)
	case errors.As(err, &be):
		return errors.New("a binary field is not valid base64")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errors.New("JSON cut short")
	}
	return errors.New("malformed JSON")
}

// Verify decrypts a backup and checks every line: the header, each row (unique ids and logins;
// employments, erasures and passkeys that refer to rows before them; erased employees without a data
// key; journal rows well formed and in order), the trailer's counts and hash, and the end of the
// file. Errors name the line and the problem, never a field's content.
func Verify(r io.Reader, identities []age.Identity) (*Summary, error) {
	rd, err := open(r, identities)
	if err != nil {
		return nil, err
	}
	for {
		row, _, err := rd.next()
		if err != nil {
			return nil, err
		}
		if row == nil {
			return rd.sum, nil
		}
	}
}

// RestoreOptions tunes Restore.
type RestoreOptions struct {
	// Progress, if not nil, is called with the number of rows restored so far.
	Progress func(rows int)
	// CheckKey, if not nil, is called with the first wrapped data key of each key-encryption key
	// version met; an error stops the restore and nothing is written. `amane restore` checks with
	// it that the target's keys unwrap the backup's data keys.
	CheckKey func(ref amane.DataKeyRef, key amane.WrappedKey) error
}

// Restore writes a backup into store, which must be empty (no data key, employer or employee;
// agencies and operator tokens may exist), in one load transaction: every line is checked as for
// Verify, and if anything fails, the trailer included, the transaction is rolled back and nothing is
// written.
func Restore(ctx context.Context, store Target, r io.Reader, identities []age.Identity, progress func(rows int)) (*Summary, error) {
	return RestoreWith(ctx, store, r, identities, RestoreOptions{Progress: progress})
}

// Target is what Restore writes into: a store's restore, and its data-key counts (an empty store has
// none).
type Target interface {
	amane.BackupStore
	KeyVersions(ctx context.Context) (map[uint32]int64, error)
}

// RestoreWith is Restore with options.
func RestoreWith(ctx context.Context, store Target, r io.Reader, identities []age.Identity, opt RestoreOptions) (*Summary, error) {
	kv, err := store.KeyVersions(ctx)
	if err != nil {
		return nil, err
	}
	if len(kv) > 0 {
		return nil, ErrNotEmpty
	}
	rd, err := open(r, identities)
	if err != nil {
		return nil, err
	}
	l, err := store.BeginRestore(ctx)
	if err != nil {
		return nil, err
	}
	sum, err := restoreRows(ctx, rd, l, opt)
	if err != nil {
		l.Rollback()
		return nil, err
	}
	if err := l.Commit(); err != nil {
		return nil, fmt.Errorf("backup: commit: %w", err)
	}
	return sum, nil
}

func restoreRows(ctx context.Context, rd *reader, l amane.Restorer, opt RestoreOptions) (*Summary, error) {
	// Inside the load transaction, which keeps other writers out: ids start at 1 only in empty tables.
	if l.NextEmployerID() != 1 || l.NextEmployeeID() != 1 {
		return nil, ErrNotEmpty
	}
	checked := map[uint32]bool{}
	check := func(ref amane.DataKeyRef, k amane.WrappedKey) error {
		if opt.CheckKey == nil || len(k.Blob) == 0 || checked[k.Version] {
			return nil
		}
		checked[k.Version] = true
		if err := opt.CheckKey(ref, k); err != nil {
			return rd.errf("the target's keys do not unwrap the data key of %s (key-encryption key version %d): %w", ref.VaultSubject(), k.Version, err)
		}
		return nil
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, _, err := rd.next()
		if err != nil {
			return nil, err
		}
		if r == nil {
			if opt.Progress != nil {
				opt.Progress(n - 1)
			}
			return rd.sum, nil
		}
		switch {
		case r.Employer != nil:
			err = check(amane.DataKeyRef{Kind: amane.KeyEmployer, Subject: r.Employer.ID}, r.Employer.Key)
		case r.Employee != nil:
			err = check(amane.DataKeyRef{Kind: amane.KeyEmployee, Subject: r.Employee.ID}, r.Employee.Key)
		case r.DataKey != nil:
			err = check(r.DataKey.DataKeyRef, r.DataKey.WrappedKey)
		}
		if err != nil {
			return nil, err
		}
		if err := l.Put(r.item()); err != nil {
			return nil, rd.errf("cannot restore this row: %w", err)
		}
		if opt.Progress != nil && n%progressEvery == 0 {
			opt.Progress(n)
		}
	}
}
