// Package backup writes, checks and restores encrypted backups of an Amane store.
//
// A backup is an age file (age-encryption.org/v1, filippo.io/age) encrypted to one or more
// recipients, normally X25519 keys made by `amane backup keygen`. age authenticates every 64 KiB
// chunk and marks the last one, so an altered, reordered or truncated file does not decrypt.
//
// The plaintext inside is JSON lines (format amane-backup/v1), each ending in "\n":
//
//	{"format":"amane-backup/v1","created":"2026-11-23T10:00:00Z","source":"sqlite"}
//	{"agency":{…}}
//	{"employer":{…}}
//	{"employee":{…}}
//	{"employment":{"employee_id":7,"employer_id":3,"since":"…","etat":"…"}}
//	{"operator_token":{…}}
//	{"erasure":{…}}
//	{"setting":{"name":"index_key_version","value":"2"}}
//	{"account":{…}}
//	{"passkey":{…}}
//	{"token":{…}}
//	{"journal":{"kind":"entry","index":0,"entry":"…","record":"employee/7"}}
//	{"journal":{"kind":"hash","index":0,"hash":"…"}}
//	{"journal":{"kind":"checkpoint","size":1,"signed":"…"}}
//	{"data_key":{…}}, {"imm_request":{…}}, {"declaration":{…}}, {"attestation":{…}}
//	{"security_alert":{"id":1,"time":"…","principal":"account/12","response":"suspend",…}}
//	{"end":true,"rows":{"agency":3,"employee":…},"sha256":"…"}
//
// The first line is the header: the format, when the snapshot was taken (RFC 3339, UTC) and the kind
// of store it came from ("sqlite" or "postgres"). Then one row per line in the order of
// amane.BackupStore.Dump (amane.DumpKinds), one consistent snapshot: each row is an amane.DumpItem in
// JSON with exactly one key set, except that employments carry employee_id and employer_id
// (amane.Employment keeps its ids out of JSON). The last line is the trailer: the number of rows of each kind and the SHA-256
// (hex) of every byte before the trailer, header included. A stream that stops before its trailer,
// or whose counts or hash disagree, is refused before Restore commits anything. A trailer may leave
// out kinds added later (account, passkey, token, journal: backups written before accounts arrived;
// security_alert: before the sentinel's alerts were carried; case, which the writer names only when
// there are cases), which then count zero; a kind the reader does not know is refused.
//
// The access journal travels as its stored rows (entries with their record reference, the Merkle
// tree's stored hashes, the signed checkpoints), not recomputed: the restored journal verifies
// against the same checkpoints and witness file as the source's.
//
// Rows are the store's own: personal fields are ciphertext, blind indexes are keyed, data keys are
// wrapped by the key-encryption keys. The backup holds no key-encryption key and no index key, so
// restoring needs the source's keyring file or HSM as well as an age identity. The rows do not
// depend on the store, so a SQLite backup restores into PostgreSQL and the other way round.
//
// The plaintext is not compressed. gzip at its fastest level would shrink it to about 45% (mostly
// the repeated JSON keys; the ciphertext itself barely compresses) at about 100 MB/s of one core;
// left for a later format version.
package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"reflect"
	"slices"
	"time"

	"amane"

	"filippo.io/age"
)

// Format is the value of the header's "format".
const Format = "amane-backup/v1"

// Row kinds: the keys of a row line and of the trailer's "rows".
const (
	KindAgency        = "agency"
	KindEmployer      = "employer"
	KindEmployee      = "employee"
	KindEmployment    = "employment"
	KindOperatorToken = "operator_token"
	KindErasure       = "erasure"
	KindSetting       = "setting"
	KindAccount       = "account"
	KindPasskey       = "passkey"
	KindToken         = "token"
	KindJournal       = "journal"
	KindDataKey       = "data_key" // history and request keys (declarations)
	KindImmRequest    = "imm_request"
	KindDeclaration   = "declaration"
	KindAttestation   = "attestation"
	KindAlert         = "security_alert"
	KindCase          = "case" // issue 14; a trailer leaves it out when there is none (optionalKinds)
)

// optionalKinds are kinds added after the v1 vector: the trailer names them only when the backup
// holds rows of them, so that a store without any writes the same bytes as before.
var optionalKinds = []string{KindCase}

// Optional reports whether kind is one a summary leaves out when the backup holds none of it (a
// kind added after v1: its absence is how every older backup reads).
func Optional(kind string) bool { return slices.Contains(optionalKinds, kind) }

// Kinds lists the row kinds in dump order: amane.DumpKinds, which the stores' table lists follow.
var Kinds = amane.DumpKinds

// progressEvery is how many rows pass between two calls of a progress function.
const progressEvery = 256

// Summary describes a backup.
type Summary struct {
	Format  string           `json:"format"`
	Created time.Time        `json:"created"`
	Source  string           `json:"source"`
	Rows    map[string]int64 `json:"rows"` // every kind of Kinds, zero included
	SHA256  string           `json:"sha256"`
	// KeyVersions counts the wrapped data keys per key-encryption key version: the versions the
	// target's keyring or HSM must hold.
	KeyVersions map[uint32]int64 `json:"key_versions"`
}

// Total is the number of rows.
func (s *Summary) Total() int64 {
	var n int64
	for _, c := range s.Rows {
		n += c
	}
	return n
}

type header struct {
	Format  string `json:"format"`
	Created string `json:"created"`
	Source  string `json:"source"`
}

type trailer struct {
	End    bool             `json:"end"`
	Rows   map[string]int64 `json:"rows"`
	SHA256 string           `json:"sha256"`
}

// trailerPrefix starts the trailer line and no row line.
var trailerPrefix = []byte(`{"end":`)

// row is one line: amane.DumpItem with employments that keep their ids.
type row struct {
	Agency        *amane.Agency            `json:"agency,omitempty"`
	Employer      *amane.EmployerRecord    `json:"employer,omitempty"`
	Employee      *amane.EmployeeRecord    `json:"employee,omitempty"`
	Employment    *employment              `json:"employment,omitempty"`
	OperatorToken *amane.OperatorToken     `json:"operator_token,omitempty"`
	Erasure       *amane.Erasure           `json:"erasure,omitempty"`
	Setting       *amane.Setting           `json:"setting,omitempty"`
	Account       *amane.Account           `json:"account,omitempty"`
	Passkey       *amane.Passkey           `json:"passkey,omitempty"`
	Token         *amane.Token             `json:"token,omitempty"`
	Journal       *amane.JournalRow        `json:"journal,omitempty"`
	DataKey       *amane.DataKey           `json:"data_key,omitempty"`
	ImmRequest    *amane.ImmRequestRecord  `json:"imm_request,omitempty"`
	Declaration   *amane.DeclarationRecord `json:"declaration,omitempty"`
	Attestation   *amane.AttestationRecord `json:"attestation,omitempty"`
	Alert         *amane.SecurityAlert     `json:"security_alert,omitempty"`
	Case          *amane.Case              `json:"case,omitempty"`
}

type employment struct {
	EmployeeID int64  `json:"employee_id"`
	EmployerID int64  `json:"employer_id"`
	Since      string `json:"since"`
	State      string `json:"etat"`
}

func toRow(it *amane.DumpItem) (*row, string, error) {
	r := &row{Agency: it.Agency, Employer: it.Employer, Employee: it.Employee, OperatorToken: it.OperatorToken, Erasure: it.Erasure, Setting: it.Setting,
		Account: it.Account, Passkey: it.Passkey, Token: it.Token, Journal: it.Journal,
		DataKey: it.DataKey, ImmRequest: it.ImmRequest, Declaration: it.Declaration, Attestation: it.Attestation, Alert: it.Alert, Case: it.Case}
	if e := it.Employee; e != nil && (e.Imm == nil || e.Surname == nil || e.FirstName == nil) {
		// An erased person's NOT NULL fields are empty; SQLite reads an empty BLOB as nil, which
		// PostgreSQL would take for NULL.
		c := *e
		for _, f := range []*[]byte{&c.Imm, &c.Surname, &c.FirstName} {
			if *f == nil {
				*f = []byte{}
			}
		}
		r.Employee = &c
	}
	if j := it.Employment; j != nil {
		r.Employment = &employment{EmployeeID: j.EmployeeID, EmployerID: j.EmployerID, Since: j.Since, State: j.State}
	}
	kind, err := r.kind()
	return r, kind, err
}

// kind names the one field set, or fails if there is not exactly one.
func (r *row) kind() (string, error) {
	kind, n := "", 0
	set := func(ok bool, k string) {
		if ok {
			kind, n = k, n+1
		}
	}
	set(r.Agency != nil, KindAgency)
	set(r.Employer != nil, KindEmployer)
	set(r.Employee != nil, KindEmployee)
	set(r.Employment != nil, KindEmployment)
	set(r.OperatorToken != nil, KindOperatorToken)
	set(r.Erasure != nil, KindErasure)
	set(r.Setting != nil, KindSetting)
	set(r.Account != nil, KindAccount)
	set(r.Passkey != nil, KindPasskey)
	set(r.Token != nil, KindToken)
	set(r.Journal != nil, KindJournal)
	set(r.DataKey != nil, KindDataKey)
	set(r.ImmRequest != nil, KindImmRequest)
	set(r.Declaration != nil, KindDeclaration)
	set(r.Attestation != nil, KindAttestation)
	set(r.Alert != nil, KindAlert)
	set(r.Case != nil, KindCase)
	if n != 1 {
		return "", fmt.Errorf("a row must have exactly one kind, this one has %d", n)
	}
	return kind, nil
}

func (r *row) item() *amane.DumpItem {
	it := &amane.DumpItem{Agency: r.Agency, Employer: r.Employer, Employee: r.Employee, OperatorToken: r.OperatorToken, Erasure: r.Erasure, Setting: r.Setting,
		Account: r.Account, Passkey: r.Passkey, Token: r.Token, Journal: r.Journal,
		DataKey: r.DataKey, ImmRequest: r.ImmRequest, Declaration: r.Declaration, Attestation: r.Attestation, Alert: r.Alert, Case: r.Case}
	if j := r.Employment; j != nil {
		it.Employment = &amane.Employment{EmployeeID: j.EmployeeID, EmployerID: j.EmployerID, Since: j.Since, State: j.State}
	}
	return it
}

// Source names the kind of a store by its package: "sqlite", "postgres".
func Source(store amane.BackupStore) string {
	t := reflect.TypeOf(store)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if p := t.PkgPath(); p != "" {
		return path.Base(p)
	}
	return t.String()
}

func newRows() map[string]int64 {
	m := make(map[string]int64, len(Kinds))
	for _, k := range Kinds {
		m[k] = 0
	}
	return m
}

// Write streams one consistent snapshot of store (its Dump) into an age file on w, encrypted to
// recipients. progress, if not nil, is called with the number of rows written so far. On error the
// age stream is left unfinished: what w received does not decrypt.
func Write(ctx context.Context, store amane.BackupStore, w io.Writer, recipients []age.Recipient, progress func(rows int)) (*Summary, error) {
	if len(recipients) == 0 {
		return nil, errors.New("backup: no recipient")
	}
	aw, err := age.Encrypt(w, recipients...)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(h, aw), 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	sum := &Summary{Format: Format, Created: time.Now().UTC().Truncate(time.Second), Source: Source(store), Rows: newRows(),
		KeyVersions: map[uint32]int64{}}
	if err := enc.Encode(header{Format: sum.Format, Created: sum.Created.Format(time.RFC3339), Source: sum.Source}); err != nil {
		return nil, err
	}
	n := 0
	err = store.Dump(ctx, func(it *amane.DumpItem) error {
		r, kind, err := toRow(it)
		if err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		sum.Rows[kind]++
		countKey(sum, r)
		if n++; progress != nil && n%progressEvery == 0 {
			progress(n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	sum.SHA256 = hex.EncodeToString(h.Sum(nil))
	rows := maps.Clone(sum.Rows)
	for _, k := range optionalKinds {
		if rows[k] == 0 {
			delete(rows, k)
		}
	}
	t, _ := json.Marshal(trailer{End: true, Rows: rows, SHA256: sum.SHA256})
	if _, err := aw.Write(append(t, '\n')); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if progress != nil {
		progress(n)
	}
	return sum, nil
}

func countKey(sum *Summary, r *row) {
	switch {
	case r.Employer != nil && len(r.Employer.Key.Blob) > 0:
		sum.KeyVersions[r.Employer.Key.Version]++
	case r.Employee != nil && len(r.Employee.Key.Blob) > 0:
		sum.KeyVersions[r.Employee.Key.Version]++
	case r.DataKey != nil && len(r.DataKey.Blob) > 0:
		sum.KeyVersions[r.DataKey.Version]++
	}
}
