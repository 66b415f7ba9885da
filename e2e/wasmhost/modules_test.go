package wasmhost_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// cacheDir is the compilation cache shared by the package's hosts.
var cacheDir = buildout.CacheDir()

func TestMain(m *testing.M) { buildout.Main(m) }

// module reads a build output; a missing one fails the test.
func module(tb testing.TB, name string) []byte { return buildout.Module(tb, name) }

// quiet discards logs unless -v asks for them.
func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newHost starts a host on a build module and closes it with the test.
func newHost(tb testing.TB, name string, opts wasmhost.Options) *wasmhost.Host {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	if opts.CompilationCacheDir == "" {
		opts.CompilationCacheDir = cacheDir
	}
	h, err := wasmhost.New(context.Background(), module(tb, name), opts)
	if err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			tb.Errorf("closing the host: %v", err)
		}
	})
	return h
}
