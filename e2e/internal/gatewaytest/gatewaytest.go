// Package gatewaytest runs a compiled filter behind the local gateway on a loopback port, in
// front of a test upstream, for the end-to-end suites that drive it over real HTTP.
package gatewaytest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// Running is a gateway serving on a loopback port.
type Running struct {
	URL     string // "http://127.0.0.1:port"
	Gateway *gateway.Gateway
	Host    *wasmhost.Host
	// Stop shuts the gateway down, waiting for requests in flight; it is idempotent and also
	// runs when the test ends.
	Stop func()
}

// Start hosts module (one worker unless opts says otherwise, with the shared compilation
// cache) behind gateway.ServeTimeouts, in front of upstream. opts.Logger is used for the host,
// the gateway and the server, and must be set. The upstream, the gateway and the host are
// closed when the test ends.
func Start(tb testing.TB, module []byte, opts wasmhost.Options, upstream http.Handler, cfg gateway.Config, timeouts gateway.Timeouts) *Running {
	tb.Helper()
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	opts.CompilationCacheDir = buildout.CacheDir()
	h, err := wasmhost.New(context.Background(), module, opts)
	if err != nil {
		tb.Fatal(err)
	}
	up := httptest.NewServer(upstream)
	u, _ := url.Parse(up.URL)
	cfg.Host, cfg.Upstream, cfg.Logger = h, u, opts.Logger
	g, err := gateway.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Shutdown counts a connection that never carried a request as busy until it is 5 s old
	// (net/http's rule for StateNew); a client sending in parallel opens such spare
	// connections, so a 5 s drain could race them. 10 s always outlasts them.
	go func() { done <- gateway.ServeTimeouts(ctx, ln, g, 10*time.Second, opts.Logger, timeouts) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("serve: %v", err)
			}
		})
	}
	tb.Cleanup(func() {
		stop()
		up.Close()
		h.Close(context.Background())
	})
	return &Running{URL: "http://" + ln.Addr().String(), Gateway: g, Host: h, Stop: stop}
}
