package web_test

import (
	"context"
	"strings"
	"testing"

	"amane/amanetest"
)

// TestAPIPurposeNeverJournaledRaw: through the API, an operator token states a 900 KB purpose code, a
// 900 KB reference, and references that are personal data (a name, a RIB, "cin-K450111", an e-mail
// address); each is refused (400) and the journal, read back raw from the store, holds none of them
// and stays small. Before the rule, the 900 KB headers were journaled whole and the name, the RIB and
// "cin-K450111" were accepted as references.
func TestAPIPurposeNeverJournaledRaw(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		a := newAPI(t, r)
		if code, m, _ := a.do(t, "POST", "/api/v1/employers", employer("1234567"), a.token); code != 201 {
			t.Fatalf("create employer: %d %v", code, m)
		}
		if code, m, _ := a.do(t, "POST", "/api/v1/employees", employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"), a.token); code != 201 {
			t.Fatalf("create employee: %d %v", code, m)
		}
		js := r.Store
		size := func() int64 {
			n, err := js.JournalSize(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		huge := strings.Repeat("B", 900<<10)
		typed := []string{"TAZI-NADIA", "Benaissa.Said", "022110000000012345678912", "cin-K450111", "r.ouazzani@souss.example"}
		for _, h := range append([]map[string]string{
			{"X-Amane-Purpose": huge, "X-Amane-Reference": "DOS-2026/0001"},
			{"X-Amane-Purpose": "dossier", "X-Amane-Reference": huge},
		}, func() (out []map[string]string) {
			for _, ref := range typed {
				out = append(out, map[string]string{"X-Amane-Purpose": "dossier", "X-Amane-Reference": ref})
			}
			return out
		}()...) {
			before := size()
			code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, h)
			if code != 400 {
				t.Errorf("purpose %.20q reference %.20q: %d %v, want 400", h["X-Amane-Purpose"], h["X-Amane-Reference"], code, m)
			}
			if size() != before+1 {
				t.Errorf("purpose %.20q reference %.20q: %d entries journaled, want one denial", h["X-Amane-Purpose"], h["X-Amane-Reference"], size()-before)
			}
		}
		raw, err := js.JournalEntries(context.Background(), 0, size())
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, e := range raw {
			total += len(e)
			for _, v := range append(typed, "BBBBBBBBBBBBBBBB") {
				if strings.Contains(string(e), v) {
					t.Errorf("the journal holds %q", v)
				}
			}
		}
		if total > 64<<10 {
			t.Errorf("the journal holds %d bytes after a dozen entries", total)
		}
	})
}
