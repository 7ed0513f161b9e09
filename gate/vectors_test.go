package gate

import (
	"amane/internal/declblob"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"amane"
	"amane/vault"
)

// Known-answer vectors for the declaration formats the gate writes (testdata/declaration-v1.json):
// a declared line's and a new employee's plaintext (the line codec, lines.go), a declaration's
// sealed-lines blob (declarations.go) holding both, sealed under a history key and a request key
// with the contexts declaration/<employer>/<period>/<seq>#<line>, the declaration's seal (declseal.go)
// and its idempotency digest. Each is checked against the package's code and recomputed from the
// documented format with encoding/binary and crypto/hmac alone. Every deployed store holds these
// bytes: a reordered field, a changed tag, kind, label or JSON key fails here.
//
// The test reaches the codec through its package-internal functions (marshalLine, unmarshalLine,
// marshalNew, unmarshalNew, parseBlob, declarationSeal, Gate.digest) and nothing else, in a file of
// its own, so that moving the codec to another package means moving this file with it.

type declVectors struct {
	IndexKey    string `json:"index_key"`
	Line        string `json:"line"`
	NewEmployee string `json:"new_employee"`
	HistoryKey  string `json:"history_key"`
	RequestKey  string `json:"request_key"`
	Blob        string `json:"blob"`
	SealInput   string `json:"seal_input"`
	Seal        string `json:"seal"`
	DigestInput string `json:"digest_input"`
	Digest      string `json:"digest"`
}

// The values the vectors encode.
var (
	vectorLine = amane.DeclarationLine{Imm: "123456789", Surname: "BENNANI", FirstName: "SALMA", Situation: "CS", Children: 2,
		AFToPay: 60000, AFNet: 60000, Days: 26, Salary: 812345, Capped: 600000}
	vectorNew    = amane.NewEmployeeLine{Surname: "NOUVEAU", FirstName: "YOUNES", CIN: "K998877", Days: 10, Salary: 150000, Capped: 150000}
	vectorHeader = amane.DeclarationHeader{Transfer: "65733172026091", Name: "EPICERIE DELTA", Activity: "COMMERCE DE DETAIL",
		Address: "IMMEUBLE 84, AVENUE DES NATIONS UNIES", City: "AGADIR", Agency: "AG", IssueDate: "20261001", DueDate: "20261010"}
)

func readDeclVectors(t *testing.T) declVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/declaration-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v declVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func vectorHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorKeys is a KeyWrapper whose "wrapped" key is the raw key itself, so that known history and
// request keys can be handed to the vault.
type vectorKeys struct{}

func (vectorKeys) CurrentVersion() uint32                      { return 1 }
func (vectorKeys) Wrap(uint32, []byte, []byte) ([]byte, error) { return nil, nil }
func (vectorKeys) Unwrap(_ uint32, wrapped, _ []byte) (*vault.UnwrappedKey, error) {
	return vault.NewUnwrappedKey(bytes.Clone(wrapped)), nil
}

func vectorVault(t *testing.T, vs declVectors) *vault.Vault {
	t.Helper()
	v, err := vault.New(vectorKeys{}, vectorHex(t, vs.IndexKey))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDeclarationVectorsV1(t *testing.T) {
	vs := readDeclVectors(t)
	t.Run("Line", func(t *testing.T) {
		want := vectorHex(t, vs.Line)
		if got := declblob.AppendLine(nil, &vectorLine); !bytes.Equal(got, want) {
			t.Errorf("the line encodes as %x, the v1 vector is %x", got, want)
		}
		if got, err := declblob.ParseLine(want); err != nil || got != vectorLine {
			t.Errorf("the v1 line decodes to %+v, %v", got, err)
		}
		// 0x01, then uvarint length ‖ bytes for imm, surname, first name, situation, then varints
		// for children, AF to pay, to deduct, net, to return, days, salary, capped salary.
		b := []byte{1}
		for _, s := range []string{"123456789", "BENNANI", "SALMA", "CS"} {
			b = append(binary.AppendUvarint(b, uint64(len(s))), s...)
		}
		for _, n := range []int64{2, 60000, 0, 60000, 0, 26, 812345, 600000} {
			b = binary.AppendVarint(b, n)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("the documented format gives %x, the v1 vector is %x", b, want)
		}
	})
	t.Run("NewEmployee", func(t *testing.T) {
		want := vectorHex(t, vs.NewEmployee)
		if got := declblob.AppendNew(nil, &vectorNew); !bytes.Equal(got, want) {
			t.Errorf("the new employee encodes as %x, the v1 vector is %x", got, want)
		}
		if got, err := declblob.ParseNew(want); err != nil || got != vectorNew {
			t.Errorf("the v1 new employee decodes to %+v, %v", got, err)
		}
		b := []byte{1}
		for _, s := range []string{"", "NOUVEAU", "YOUNES", "K998877"} {
			b = append(binary.AppendUvarint(b, uint64(len(s))), s...)
		}
		for _, n := range []int64{10, 150000, 150000} {
			b = binary.AppendVarint(b, n)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("the documented format gives %x, the v1 vector is %x", b, want)
		}
	})
	t.Run("Blob", func(t *testing.T) {
		blob := vectorHex(t, vs.Blob)
		lines, err := parseBlob(blob)
		if err != nil || len(lines) != 2 {
			t.Fatalf("the v1 blob parses to %d lines, %v", len(lines), err)
		}
		// 0x01, then per line: tag (1 = B02, 2 = B04) ‖ key kind ‖ uvarint subject ‖ uvarint length ‖ sealed
		want := []struct {
			tag     byte
			kind    int
			subject int64
		}{{1, amane.KeyHistory, 42}, {2, amane.KeyRequest, 7}}
		if tagLine != 1 || tagNew != 2 || amane.KeyHistory != 3 || amane.KeyRequest != 4 {
			t.Errorf("tags %d %d, kinds %d %d: the v1 blob has 1 2 and 3 4", tagLine, tagNew, amane.KeyHistory, amane.KeyRequest)
		}
		re := []byte{1}
		for i, l := range lines {
			if l.tag != want[i].tag || l.kind != want[i].kind || l.subject != want[i].subject {
				t.Errorf("line %d: tag %d kind %d subject %d, the v1 blob has %+v", i, l.tag, l.kind, l.subject, want[i])
			}
			re = append(re, l.tag, byte(l.kind))
			re = binary.AppendUvarint(re, uint64(l.subject))
			re = binary.AppendUvarint(re, uint64(len(l.sealed)))
			re = append(re, l.sealed...)
		}
		if !bytes.Equal(re, blob) {
			t.Errorf("the documented framing gives %x, the v1 blob is %x", re, blob)
		}
		// Each line opens under its person's (or request's) key, bound to the declaration
		// (employer 3, period 202609, seq 0) and the line's place, and decodes to the values above.
		o := vault.NewOpener(vectorVault(t, vs))
		keys := map[int]string{amane.KeyHistory: vs.HistoryKey, amane.KeyRequest: vs.RequestKey}
		for i, l := range lines {
			ref := amane.DataKeyRef{Kind: l.kind, Subject: l.subject}
			h, err := o.UnwrapHistory(ref.VaultSubject(), 1, vectorHex(t, keys[l.kind]))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := o.OpenRecord(h, "declaration/3/202609/0#"+strconv.Itoa(i), l.sealed)
			if err != nil {
				t.Fatalf("line %d (%s): %v", i, ref.VaultSubject(), err)
			}
			switch l.tag {
			case tagLine:
				if got, err := declblob.ParseLine(plain); err != nil || got != vectorLine {
					t.Errorf("line %d opens to %+v, %v", i, got, err)
				}
			case tagNew:
				if got, err := declblob.ParseNew(plain); err != nil || got != vectorNew {
					t.Errorf("line %d opens to %+v, %v", i, got, err)
				}
			}
		}
	})
	t.Run("Seal", func(t *testing.T) {
		r := &amane.DeclarationRecord{ID: 99, EmployerID: 3, Period: "202609", Seq: 0, Status: "acceptee", Received: "2026-10-05T09:00:00Z",
			Digest: []byte("0123456789:;<=>?"), Header: vectorHeader,
			Totals: amane.DeclarationTotals{Headcount: 2, Days: 36, Payroll: 962345, Capped: 750000},
			Contributions: amane.Contributions{Table: "2026-01", Ceiling: 600000, Branches: []amane.BranchDue{
				{Branch: "AF", Base: 962345, Employer: 61590}, {Branch: "PS", Base: 750000, Employer: 64200, Employee: 32100}},
				Employer: 125790, Employee: 32100, Total: 157890},
			Lines: []byte{1, 2, 3}}
		if got := hex.EncodeToString(declarationSeal(vectorVault(t, vs), r)); got != vs.Seal {
			t.Errorf("the declaration's seal is %s, the v1 vector is %s", got, vs.Seal)
		}
		// HMAC-SHA256(index key, "amane/index/v1" ‖ 0x00 ‖ "declaration-seal" ‖ 0x00 ‖ the seal input's JSON)[:16]
		m := hmac.New(sha256.New, vectorHex(t, vs.IndexKey))
		m.Write([]byte("amane/index/v1\x00declaration-seal\x00" + vs.SealInput))
		if got := hex.EncodeToString(m.Sum(nil)[:16]); got != vs.Seal {
			t.Errorf("the documented format gives %s, the v1 vector is %s", got, vs.Seal)
		}
	})
	t.Run("Digest", func(t *testing.T) {
		d := &amane.Declaration{Affiliation: "6573317", Period: "202609", Header: vectorHeader,
			Lines: []amane.DeclarationLine{vectorLine}, New: []amane.NewEmployeeLine{vectorNew}}
		if got := hex.EncodeToString((&Gate{vault: vectorVault(t, vs)}).digest(d)); got != vs.Digest {
			t.Errorf("the declaration's digest is %s, the v1 vector is %s", got, vs.Digest)
		}
		m := hmac.New(sha256.New, vectorHex(t, vs.IndexKey))
		m.Write([]byte("amane/index/v1\x00declaration\x00" + vs.DigestInput))
		if got := hex.EncodeToString(m.Sum(nil)[:16]); got != vs.Digest {
			t.Errorf("the documented format gives %s, the v1 vector is %s", got, vs.Digest)
		}
	})
}
