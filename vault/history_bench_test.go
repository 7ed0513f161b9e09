package vault_test

import "testing"

// BenchmarkHistoryLine is what a declared line costs in the vault in a month after the first: the
// person's history key unwrapped, then one line sealed.
func BenchmarkHistoryLine(b *testing.B) {
	v := newVault(b)
	_, ver, wrapped, err := v.NewHistoryKey("history/7")
	if err != nil {
		b.Fatal(err)
	}
	line := make([]byte, 60)
	var out []byte
	for b.Loop() {
		h, err := v.HistoryKey("history/7", ver, wrapped)
		if err != nil {
			b.Fatal(err)
		}
		if out, err = h.Seal(out[:0], "declaration/12/202610/0#3", line); err != nil {
			b.Fatal(err)
		}
	}
}
