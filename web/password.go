package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password hashing: Argon2id (RFC 9106), stored in the PHC string format
//
//	$argon2id$v=19$m=65536,t=1,p=2$<salt, base64 without padding>$<hash, base64 without padding>
//
// m=64 MiB, t=1, p=2 is the RFC 9106 §4 second recommendation scaled to a 2-core server (OWASP's
// Password Storage Cheat Sheet lists m=46 MiB, t=1, p=1 as an equivalent floor). The memory cost is
// what makes a stolen hash expensive to guess on GPUs; the parameters travel in the string, so raising
// them later leaves old hashes checkable.
const (
	argonMemory  = 64 * 1024 // KiB
	argonTime    = 1
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32
)

// hashSlots bounds the sign-ins hashing at once: each takes 64 MiB, and a burst of password attempts
// must not exhaust the server's memory.
var hashSlots = make(chan struct{}, 4)

// HashPassword returns the Argon2id PHC string of password under a fresh random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey(password, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC string encoded, comparing in constant time.
// It returns an error if encoded is not an Argon2id PHC string within sane bounds (a stored hash
// must not be able to make the server allocate gigabytes).
func CheckPassword(encoded, password string) (bool, error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	key := argonKey(password, p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(key, p.hash) == 1, nil
}

func argonKey(password string, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, time, memory, threads, keyLen)
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, hash   []byte
}

var errPHC = errors.New("web: not an Argon2id PHC string")

// parsePHC parses strictly: the exact field order, decimal parameters without sign or leading zeros,
// strict unpadded base64.
func parsePHC(s string) (*phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, errPHC
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errPHC
	}
	var v [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(params[i], name)
		if !ok || num == "" || (num[0] == '0' && len(num) > 1) || strings.Trim(num, "0123456789") != "" {
			return nil, errPHC
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return nil, errPHC
		}
		v[i] = n
	}
	p := &phc{memory: uint32(v[0]), time: uint32(v[1]), threads: uint8(v[2])}
	if v[0] < 8*v[2] || v[0] > 256*1024 || v[1] < 1 || v[1] > 16 || v[2] < 1 || v[2] > 16 {
		return nil, errPHC
	}
	b64 := base64.RawStdEncoding.Strict()
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 || len(p.salt) > 64 {
		return nil, errPHC
	}
	if p.hash, err = b64.DecodeString(parts[5]); err != nil || len(p.hash) < 16 || len(p.hash) > 64 {
		return nil, errPHC
	}
	return p, nil
}

// dummyHash is checked against when a login is unknown, so that an unknown login costs the same time
// as a wrong password and the answer's timing does not tell which logins exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("amane: no such account")
	if err != nil {
		panic(err)
	}
	return h
})
