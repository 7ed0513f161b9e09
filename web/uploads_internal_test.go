package web

import (
	"net/http/httptest"
	"testing"
	"time"

	"amane"
)

// TestOneUploadPerPrincipal is the attack on the uploads: one principal sends declarations in
// parallel, then more than the hourly budget. A second upload while one is in progress is refused
// (429, before its body is read); past uploadBytesPerHour, refused until the hour ends; another
// principal is not affected.
func TestOneUploadPerPrincipal(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 15, 0, 0, time.UTC)
	s := &Server{Now: func() time.Time { return now }}
	req := func(id string) *amane.Principal {
		return &amane.Principal{ID: id, Role: amane.RoleEmployer, Affiliation: "1234567"}
	}
	r1 := httptest.NewRequest("POST", "/", nil)
	r1 = r1.WithContext(amane.NewContextWithPrincipal(r1.Context(), req("account/1")))
	r2 := httptest.NewRequest("POST", "/", nil)
	r2 = r2.WithContext(amane.NewContextWithPrincipal(r2.Context(), req("account/2")))

	done, _, err := s.beginUpload(r1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.beginUpload(r1); amane.ErrorCode(err) != amane.ETHROTTLED {
		t.Fatalf("a second upload in parallel: %v", err)
	}
	done2, _, err := s.beginUpload(r2)
	if err != nil {
		t.Fatalf("another principal: %v", err)
	}
	done2(1 << 20)
	done(uploadBytesPerHour)
	_, wait, err := s.beginUpload(r1)
	if amane.ErrorCode(err) != amane.ETHROTTLED || wait != 45*time.Minute {
		t.Fatalf("over the hourly budget: %v, retry after %v", err, wait)
	}
	now = now.Add(45 * time.Minute)
	if done, _, err = s.beginUpload(r1); err != nil {
		t.Fatalf("the next hour: %v", err)
	}
	done(0)
}
