package web_test

import (
	"regexp"
	"testing"

	"amane/web"
)

func TestHashPassword(t *testing.T) {
	h1, err := web.HashPassword("mot de passe")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := web.HashPassword("mot de passe")
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=1,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h1) {
		t.Fatalf("not a PHC string with the expected parameters: %s", h1)
	}
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		name, password string
		want           bool
	}{{"OK", "mot de passe", true}, {"ErrWrong", "mot de passE", false}, {"ErrEmpty", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, err := web.CheckPassword(h1, tc.password); err != nil || ok != tc.want {
				t.Fatalf("CheckPassword = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
}

// TestCheckPasswordKnownAnswer checks against the Argon2id vector of the reference implementation's
// test suite (phc-winner-argon2, src/test.c: password "password", salt "somesalt", t=2, m=64 MiB, p=1).
func TestCheckPasswordKnownAnswer(t *testing.T) {
	const vector = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := web.CheckPassword(vector, "password"); err != nil || !ok {
		t.Fatalf("CheckPassword(reference vector) = %v, %v", ok, err)
	}
}

func TestCheckPasswordRefusesMalformed(t *testing.T) {
	for name, h := range map[string]string{
		"ErrArgon2i":      "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrVersion":      "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrHugeMemory":   "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrManyPasses":   "$argon2id$v=19$m=65536,t=1000,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrLeadingZero":  "$argon2id$v=19$m=065536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrOrder":        "$argon2id$v=19$t=2,m=65536,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrPadding":      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrShortSalt":    "$argon2id$v=19$m=65536,t=2,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrShortHash":    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1a",
		"ErrExtraField":   "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$",
		"ErrEmpty":        "",
		"ErrBcrypt":       "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"ErrZeroThreads":  "$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"ErrNegativeTime": "$argon2id$v=19$m=65536,t=-2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		t.Run(name, func(t *testing.T) {
			if ok, err := web.CheckPassword(h, "password"); err == nil || ok {
				t.Fatalf("CheckPassword = %v, %v; want an error", ok, err)
			}
		})
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$")
	f.Fuzz(func(t *testing.T, h string) {
		web.CheckPassword(h, "password") // must not panic nor allocate without bound
	})
}
