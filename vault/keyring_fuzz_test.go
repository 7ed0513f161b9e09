package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The keyring file parser (unsealKeyring) on fuzzed input. Its seeds are sealed with the cheapest
// key-derivation parameters the parser accepts (8 MiB, one pass), so that each run costs
// milliseconds, and a synthetic passphrase.

const fuzzPassphrase = "a synthetic fuzz passphrase"

// cheapKDF is the smallest Argon2id cost unsealKeyring accepts.
var cheapKDF = struct {
	time, memoryKiB uint32
	threads         uint8
}{1, 8 * 1024, 1}

// cheapKey is the file key of sealCheap's parameters, derived once.
var cheapKey struct {
	once sync.Once
	key  []byte
}

// sealCheap seals payload as a keyring file with cheapKDF, a fixed salt and nonce.
func sealCheap(t testing.TB, payload []byte) []byte {
	t.Helper()
	var f keyringFile
	f.Format = keyringFormat
	f.KDF.Alg, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads = "argon2id", cheapKDF.time, cheapKDF.memoryKiB, cheapKDF.threads
	f.KDF.Salt = bytes.Repeat([]byte{7}, 16)
	f.Nonce = bytes.Repeat([]byte{9}, 12)
	cheapKey.once.Do(func() {
		cheapKey.key = argon2.IDKey([]byte(fuzzPassphrase), f.KDF.Salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 32)
	})
	a, err := newAEAD(cheapKey.key)
	if err != nil {
		t.Fatal(err)
	}
	f.Sealed = a.Seal(nil, f.Nonce, payload, []byte(labelKeyring))
	b, err := json.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func payloadJSON(t testing.TB, p keyringPayload) []byte {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	key32 = bytes.Repeat([]byte{1}, 32)
	key31 = bytes.Repeat([]byte{2}, 31)
)

// costly reports whether a keyring file asks, within the parser's bounds, for more key derivation
// than the seeds: a valid file, but up to seconds per run. Parameters out of bounds are refused before
// any derivation and are never skipped.
func costly(b []byte) bool {
	var f keyringFile
	return json.Unmarshal(b, &f) == nil && f.KDF.Time <= 8 && f.KDF.MemoryKiB <= 256*1024 &&
		(f.KDF.Time > cheapKDF.time || f.KDF.MemoryKiB > 2*cheapKDF.memoryKiB || f.KDF.Threads > 4)
}

// checkUnsealed is what every accepted keyring must be: its current KEK and its index key of 32 bytes.
func checkUnsealed(t *testing.T, p *keyringPayload) {
	t.Helper()
	if len(p.IndexKey) != 32 || len(p.KEKs[p.Current]) != 32 {
		t.Fatalf("accepted a keyring without a 32-byte current KEK (version %d) and index key", p.Current)
	}
}

// FuzzKeyringFile: any bytes as the keyring file. It must not panic; it accepts only a file sealed
// under the passphrase (what it accepts holds a current KEK and the index key), and says which file is
// wrong without quoting it.
func FuzzKeyringFile(f *testing.F) {
	good := sealCheap(f, payloadJSON(f, keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key32}, IndexKey: key32}))
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(keyringFormat), []byte("amane-keyring-v2"), 1))
	f.Add(bytes.Replace(good, []byte(`"alg":"argon2id"`), []byte(`"alg":"scrypt"`), 1))
	f.Add(bytes.Replace(good, []byte(`"memory_kib":8192`), []byte(`"memory_kib":8191`), 1))
	f.Add(bytes.Replace(good, []byte(`"time":1`), []byte(`"time":9`), 1))
	f.Add(bytes.Replace(good, []byte(`"threads":1`), []byte(`"threads":0`), 1))
	f.Add(bytes.Replace(good, []byte(`"nonce":"CQkJCQkJCQkJCQkJ"`), []byte(`"nonce":"CQkJCQkJCQkJCQk="`), 1))           // 11 bytes
	f.Add(bytes.Replace(good, []byte(`"salt":"BwcHBwcHBwcHBwcHBwcHBw=="`), []byte(`"salt":"BwcHBwcHBwcHBwcHBwcH"`), 1)) // 15 bytes
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"format":"amane-keyring-v1","kdf":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if costly(b) {
			t.Skip("key derivation beyond the seeds' cost")
		}
		p, err := unsealKeyring("keyring.json", b, []byte(fuzzPassphrase))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "keyring: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		defer p.clear()
		checkUnsealed(t, p)
	})
}

// FuzzKeyringPayload: any bytes sealed as a keyring's payload under the right passphrase (what an
// attacker cannot do, or a bug in an older writer could). It must not panic; it refuses a payload
// without a 32-byte current KEK or index key; what it accepts survives a JSON round trip unchanged.
func FuzzKeyringPayload(f *testing.F) {
	f.Add(payloadJSON(f, keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key32}, IndexKey: key32}))
	f.Add(payloadJSON(f, keyringPayload{Current: 2, KEKs: map[uint32][]byte{1: key32, 2: key32}, IndexKey: key32,
		IndexKeys: map[uint32][]byte{2: key32}}))
	f.Add(payloadJSON(f, keyringPayload{Current: 2, KEKs: map[uint32][]byte{1: key32}, IndexKey: key32})) // current version missing
	f.Add(payloadJSON(f, keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key31}, IndexKey: key32})) // wrong size
	f.Add(payloadJSON(f, keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key32}, IndexKey: key31}))
	f.Add([]byte(`{"current":1,"keks":{"x":"AA=="},"index_key":""}`))
	f.Add([]byte(`{"current":-1}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := unsealKeyring("keyring.json", sealCheap(t, payload), []byte(fuzzPassphrase))
		if err != nil {
			if errors.Is(err, ErrPassphrase) {
				t.Fatalf("a payload sealed under the passphrase is refused as a wrong passphrase")
			}
			return
		}
		defer p.clear()
		checkUnsealed(t, p)
		var again keyringPayload
		if err := json.Unmarshal(payloadJSON(t, *p), &again); err != nil {
			t.Fatal(err)
		}
		if again.Current != p.Current || !bytes.Equal(again.IndexKey, p.IndexKey) ||
			!maps.EqualFunc(again.KEKs, p.KEKs, bytes.Equal) || !maps.EqualFunc(again.IndexKeys, p.IndexKeys, bytes.Equal) {
			t.Fatal("the payload changes in a JSON round trip")
		}
	})
}

// TestKeyringFileSeeds: the fuzz seeds are what they claim: the good file opens with the passphrase
// and no other, and each broken one is refused for its own reason.
func TestKeyringFileSeeds(t *testing.T) {
	good := sealCheap(t, payloadJSON(t, keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key32}, IndexKey: key32}))
	p, err := unsealKeyring("keyring.json", good, []byte(fuzzPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	checkUnsealed(t, p)
	if _, err := unsealKeyring("keyring.json", good, []byte("another synthetic passphrase")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	for _, tt := range []struct{ name, old, new, err string }{
		{"ErrFormat", keyringFormat, "amane-keyring-v2", "not an Amane keyring file"},
		{"ErrAlg", `"alg":"argon2id"`, `"alg":"scrypt"`, "unsupported key-derivation parameters"},
		{"ErrMemory", `"memory_kib":8192`, `"memory_kib":8191`, "unsupported key-derivation parameters"},
		{"ErrNonceSize", `"nonce":"CQkJCQkJCQkJCQkJ"`, `"nonce":"CQkJCQkJCQkJCQk="`, "unsupported key-derivation parameters"},
		{"ErrSaltSize", `"salt":"BwcHBwcHBwcHBwcHBwcHBw=="`, `"salt":"BwcHBwcHBwcHBwcH"`, "unsupported key-derivation parameters"},
		{"ErrJSON", `}`, `,`, "not an Amane keyring file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Replace(good, []byte(tt.old), []byte(tt.new), 1)
			if bytes.Equal(b, good) {
				t.Fatalf("%s not in the seed", tt.old)
			}
			if _, err := unsealKeyring("keyring.json", b, []byte(fuzzPassphrase)); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
	for _, tt := range []struct {
		name string
		p    keyringPayload
	}{
		{"ErrNoCurrentKEK", keyringPayload{Current: 2, KEKs: map[uint32][]byte{1: key32}, IndexKey: key32}},
		{"ErrKEKSize", keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key31}, IndexKey: key32}},
		{"ErrIndexKeySize", keyringPayload{Current: 1, KEKs: map[uint32][]byte{1: key32}, IndexKey: key31}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unsealKeyring("keyring.json", sealCheap(t, payloadJSON(t, tt.p)), []byte(fuzzPassphrase))
			if err == nil || !strings.Contains(err.Error(), "lacks the current KEK or the index key") {
				t.Fatalf("error %v", err)
			}
		})
	}
}
