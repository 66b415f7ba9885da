package browser_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/internal/gatewaytest"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestMain(m *testing.M) { buildout.Main(m) }

// seen is one request as the upstream received it.
type seen struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Origin string `json:"origin"`
	Cookie string `json:"cookie"`
	Trace  string `json:"trace"`
}

// upstream answers every request with what it saw, and response headers of both kinds: ones
// the policy exposes to scripts (x-request-id), ones it does not (x-upstream-version,
// server), and CORS-safelisted ones a script may always read.
type upstream struct {
	mu   sync.Mutex
	reqs []seen
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{Method: r.Method, Path: r.URL.RequestURI(), Origin: r.Header.Get("Origin"),
		Cookie: r.Header.Get("Cookie"), Trace: r.Header.Get("X-Trace")}
	u.mu.Lock()
	u.reqs = append(u.reqs, s)
	u.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", "en")
	h.Set("X-Request-Id", "r-1")
	h.Set("X-Upstream-Version", "7")
	h.Set("Server", "upstream/1.0")
	json.NewEncoder(w).Encode(s)
}

// since returns the requests received after the first n.
func (u *upstream) since(n int) []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs[n:]...)
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// page is a document served on its own loopback origin, from which a script calls the
// gateway.
type page struct {
	origin string // "http://127.0.0.1:port"
	ln     net.Listener
}

func newPage(t *testing.T) *page {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &page{origin: "http://" + ln.Addr().String(), ln: ln}
}

// serve starts serving the page once its origin has been written into the policy.
func (p *page) serve(t *testing.T) {
	srv := &httptest.Server{Listener: p.ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r) // favicon.ico
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>portcullis browser test</title><p>calls the gateway</p>")
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
}

// gatewayEnv is the compiled filter behind the local gateway, in front of the upstream.
type gatewayEnv struct {
	url  string
	host *wasmhost.Host
	up   *upstream
}

// startGateway runs build/portcullis.wasm with policy inline, behind the gateway on a
// loopback port, and stops it with the test.
func startGateway(t *testing.T, policy string) *gatewayEnv {
	t.Helper()
	up := &upstream{}
	r := gatewaytest.Start(t, buildout.Module(t, "portcullis.wasm"), wasmhost.Options{
		Workers: 1, PluginConfig: []byte(`{"policy": ` + policy + `}`), Logger: slog.New(slog.DiscardHandler),
	}, up, gateway.Config{}, gateway.Timeouts{})
	return &gatewayEnv{url: r.URL, host: r.Host, up: up}
}

// counter reads a filter counter; one the filter never defined reads as 0.
// counter is sum(family{label="value",…}) over the gateway's metrics.
func (e *gatewayEnv) counter(family string, labelPairs ...string) int64 {
	return e.host.Sum(family, labelPairs...)
}
