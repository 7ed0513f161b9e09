package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"amane"
)

func testAlerts(t *testing.T, s Store) {
	ctx := context.Background()
	add := func(principal, response string, i int) *amane.SecurityAlert {
		a := &amane.SecurityAlert{Time: fmt.Sprintf("2026-11-23T10:%02d:00Z", i), Principal: principal, Response: response,
			Signal: "volume_10m", Evidence: json.RawMessage(fmt.Sprintf(`{"distinct":%d,"window":"10m"}`, 100+i)), Journal: int64(i)}
		id, err := s.AddAlert(ctx, a)
		code(t, err, "")
		a.ID = id
		return a
	}
	a1 := add("account/1", "alert", 1)
	a2 := add("account/2", "alert", 2)
	a3 := add("account/1", "suspend", 3)
	if !(a1.ID < a2.ID && a2.ID < a3.ID) {
		t.Fatalf("ids %d, %d, %d do not increase", a1.ID, a2.ID, a3.ID)
	}
	_, err := s.AddAlert(ctx, &amane.SecurityAlert{Time: "2026-11-23T10:00:00Z", Principal: "account/1", Response: "alert", Signal: "x", Evidence: json.RawMessage(`{`)})
	code(t, err, amane.EINVALID)

	all, err := s.Alerts(ctx, 0, 10)
	code(t, err, "")
	if len(all) != 3 || all[0].ID != a3.ID || all[2].ID != a1.ID {
		t.Fatalf("Alerts: %+v, want newest first", all)
	}
	if string(all[0].Evidence) != string(a3.Evidence) || all[0].Journal != 3 || all[0].Signal != "volume_10m" || all[0].Time != a3.Time {
		t.Fatalf("Alerts: %+v, want %+v", all[0], *a3)
	}
	page, err := s.Alerts(ctx, a3.ID, 1)
	code(t, err, "")
	if len(page) != 1 || page[0].ID != a2.ID {
		t.Fatalf("Alerts(before %d, 1): %+v", a3.ID, page)
	}

	open, err := s.OpenAlerts(ctx, "account/1")
	code(t, err, "")
	if len(open) != 2 || open[0].ID != a1.ID || open[1].ID != a3.ID {
		t.Fatalf("OpenAlerts(account/1): %+v", open)
	}
	n, err := s.LiftAlerts(ctx, "account/1", "account/9", "2026-11-23T11:00:00Z")
	code(t, err, "")
	if n != 2 {
		t.Fatalf("LiftAlerts: %d lifted, want 2", n)
	}
	if n, _ := s.LiftAlerts(ctx, "account/1", "account/9", "2026-11-23T12:00:00Z"); n != 0 {
		t.Fatalf("LiftAlerts again: %d lifted, want 0", n)
	}
	open, err = s.OpenAlerts(ctx, "")
	code(t, err, "")
	if len(open) != 1 || open[0].ID != a2.ID {
		t.Fatalf("OpenAlerts(all) after the lift: %+v", open)
	}
	all, _ = s.Alerts(ctx, 0, 10)
	if all[0].Lifted != "2026-11-23T11:00:00Z" || all[0].LiftedBy != "account/9" || all[1].Lifted != "" {
		t.Fatalf("after the lift: %+v", all)
	}
}
