// Package buildout gives the end-to-end tests the Makefile's build outputs (build/*.wasm) and
// one wazero compilation cache per test binary. A missing module fails the test — it never
// skips — so a green run always means the compiled filter was exercised.
package buildout

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Path is the path of a build output, found from this file so tests run from any directory.
func Path(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "build", name)
}

// Module reads a build output or fails the test.
func Module(tb testing.TB, name string) []byte {
	tb.Helper()
	wasm, err := os.ReadFile(Path(name))
	if err != nil {
		tb.Fatalf("%v (run make wasm-test-modules)", err)
	}
	return wasm
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

// CacheDir is a compilation cache shared by every host the test binary starts: compiling a Go
// module again for each test would dominate the run (much more so under -race). "" if no
// temporary directory could be made (the hosts then compile without a cache).
func CacheDir() string {
	cacheOnce.Do(func() { cacheDir, _ = os.MkdirTemp("", "portcullis-wazero-cache-") })
	return cacheDir
}

// Main runs the tests and removes the cache; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if cacheDir != "" {
		os.RemoveAll(cacheDir)
	}
	os.Exit(code)
}
