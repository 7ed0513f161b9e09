package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The tests that SIGKILL a real process share one build of the binary (go build takes seconds on a
// loaded machine; building it per test was a tenth of the package's time).
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// amaneBinary builds ./cmd/amane once per test process and returns its path; removeBinary (called by
// TestMain) deletes it.
func amaneBinary(t *testing.T) string {
	t.Helper()
	builtBinary.once.Do(func() {
		if builtBinary.dir, builtBinary.err = os.MkdirTemp("", "amane-bin-"); builtBinary.err != nil {
			return
		}
		builtBinary.path = filepath.Join(builtBinary.dir, "amane")
		builtBinary.out, builtBinary.err = exec.Command("go", "build", "-o", builtBinary.path, ".").CombinedOutput()
	})
	if builtBinary.err != nil {
		t.Fatalf("go build: %v\n%s", builtBinary.err, builtBinary.out)
	}
	return builtBinary.path
}

func removeBinary() {
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
}
