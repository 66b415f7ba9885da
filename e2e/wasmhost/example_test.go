package wasmhost_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// A filter test in a few lines: start the module, send a request through it, look at what
// the filter did.
func Example() {
	ctx := context.Background()
	wasm, err := os.ReadFile(buildout.Path("noop.wasm"))
	if err != nil {
		fmt.Println(err, "(run make wasm-test-modules)")
		return
	}
	host, err := wasmhost.New(ctx, wasm, wasmhost.Options{Workers: 1, Logger: slog.New(slog.DiscardHandler), CompilationCacheDir: cacheDir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer host.Close(ctx)

	s := host.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders([][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "example.com"}, {"X-Test", "1"}}, true)
	fmt.Println(r.Action, r.EndOfStream, r.Headers[3])
	// Output: continue true [x-test 1]
}
