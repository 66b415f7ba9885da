package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/internal/gatewaytest"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestMain(m *testing.M) { buildout.Main(m) }

// module reads a build output; a missing one fails the test.
func module(tb testing.TB, name string) []byte { return buildout.Module(tb, name) }

// logs keeps log records for assertions.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// requests returns the access-log records as attribute maps.
func (l *logs) requests() []map[string]slog.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range l.records {
		if r.Message != "request" {
			continue
		}
		m := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
		out = append(out, m)
	}
	return out
}

type env struct {
	url  string // the gateway
	g    *gateway.Gateway
	host *wasmhost.Host
	logs *logs
	stop func() // shuts the gateway down, waiting for requests in flight; idempotent
}

// start runs a gateway with the module in front of upstream, served by gateway.Serve on a
// loopback port, and stops it with the test.
func start(t testing.TB, moduleName string, opts wasmhost.Options, upstream http.Handler, cfg gateway.Config) *env {
	t.Helper()
	return startTimeouts(t, moduleName, opts, upstream, cfg, gateway.Timeouts{})
}

// startTimeouts is start with the given client timeouts (zero fields: the defaults).
func startTimeouts(t testing.TB, moduleName string, opts wasmhost.Options, upstream http.Handler, cfg gateway.Config, timeouts gateway.Timeouts) *env {
	t.Helper()
	l := &logs{}
	opts.Logger = slog.New(l)
	if cfg.Logger != nil { // the caller's (benchmarks: not kept in memory)
		opts.Logger = cfg.Logger
	}
	r := gatewaytest.Start(t, module(t, moduleName), opts, upstream, cfg, timeouts)
	return &env{url: r.URL, g: r.Gateway, host: r.Host, logs: l, stop: r.Stop}
}

// client sends requests as written: no compression negotiation, no user agent.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
