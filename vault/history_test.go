package vault_test

import (
	"bytes"
	"errors"
	"testing"

	"amane/vault"
)

func TestHistoryKeySealsManyAndBindsContext(t *testing.T) {
	v := newVault(t)
	h, ver, wrapped, err := v.NewHistoryKey("history/7")
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.Seal(nil, "declaration/1/202410/0#1", []byte("line one"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Seal(nil, "declaration/1/202410/0#1", []byte("line one"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: the nonce repeats")
	}
	if bytes.Contains(a, []byte("line one")) {
		t.Fatal("plaintext in the ciphertext")
	}
	o := vault.NewOpener(v)
	k, err := o.UnwrapHistory("history/7", ver, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := o.OpenRecord(k, "declaration/1/202410/0#1", b); err != nil || string(pt) != "line one" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	if _, err := o.OpenRecord(k, "declaration/1/202411/0#1", a); !errors.Is(err, vault.ErrOpen) {
		t.Errorf("moved to another declaration: %v, want vault.ErrOpen", err)
	}
	if _, err := o.UnwrapHistory("history/8", ver, wrapped); err == nil {
		t.Error("a key unwrapped for another subject")
	}
	a[len(a)-1] ^= 1
	if _, err := o.OpenRecord(k, "declaration/1/202410/0#1", a); !errors.Is(err, vault.ErrOpen) {
		t.Errorf("altered: %v, want vault.ErrOpen", err)
	}
	if _, err := v.HistoryKey("history/7", ver, nil); err == nil {
		t.Error("an erased (empty) key unwraps")
	}
}
