package migrate

import (
	"testing"
	"testing/fstest"
)

func TestList(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/002_b.sql": {Data: []byte("B")},
		"migrations/001_a.sql": {Data: []byte("A")},
	}
	ms, err := List(fsys)
	if err != nil || len(ms) != 2 || ms[0].SQL != "A" || ms[1].Version != 2 || ms[1].Name != "002_b.sql" {
		t.Fatalf("List = %+v, %v", ms, err)
	}
	if p, err := Pending(ms, 1); err != nil || len(p) != 1 || p[0].Version != 2 {
		t.Fatalf("Pending(1) = %+v, %v", p, err)
	}
	if _, err := Pending(ms, 3); err == nil {
		t.Fatal("a database newer than the binary was accepted")
	}
	fsys["migrations/004_d.sql"] = &fstest.MapFile{Data: []byte("D")}
	if _, err := List(fsys); err == nil {
		t.Fatal("a gap in the numbering was accepted")
	}
}
