package gate

import "testing"

// FuzzCursor: decodeCursor takes what a client sends; it never panics, accepts only what
// encodeCursor writes (one spelling per position, its own kind), and reads back the position.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor(cursorEmployees, 0), encodeCursor(cursorEmployees, 901), encodeCursor(cursorLines, 1<<40), "ZQ", "ZYcD", "!!", "ZYcDAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []byte{cursorEmployees, cursorLines} {
			pos, err := decodeCursor(kind, s)
			if err != nil || s == "" {
				continue
			}
			if pos < 0 || encodeCursor(kind, pos) != s {
				t.Fatalf("decodeCursor(%q) = %d, which encodes as %q", s, pos, encodeCursor(kind, pos))
			}
			if _, err := decodeCursor(cursorEmployees+cursorLines-kind, s); err == nil {
				t.Fatalf("%q is a cursor of both kinds", s)
			}
		}
	})
}
