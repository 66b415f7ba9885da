package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// Config configures a Gateway.
type Config struct {
	// Host runs the filter; the gateway does not close it.
	Host *wasmhost.Host
	// Upstream is the base URL allowed requests go to.
	Upstream *url.URL
	// Transport reaches the upstream; nil means a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives the access log and gateway errors; nil means slog.Default().
	Logger *slog.Logger
	// StreamTimeout bounds how long the filter may hold a request or response without
	// releasing it; 0 means 30s.
	StreamTimeout time.Duration
	// AllowUnderscoreHeaders lets header names with '_' through to the filter. By default such
	// a request is refused with 400, as Envoy does with headers_with_underscores_action:
	// REJECT_REQUEST (the shipped envoy.yaml): CGI and WSGI upstreams fold '_' and '-' together.
	AllowUnderscoreHeaders bool
}

// Gateway is the http.Handler that runs requests through the filter.
type Gateway struct {
	host        *wasmhost.Host
	proxy       *httputil.ReverseProxy
	logger      *slog.Logger
	timeout     time.Duration
	underscores bool
}

var _ http.Handler = (*Gateway)(nil)

// New checks cfg and returns the gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Host == nil {
		return nil, errors.New("gateway: no wasm host")
	}
	if cfg.Upstream == nil || (cfg.Upstream.Scheme != "http" && cfg.Upstream.Scheme != "https") || cfg.Upstream.Host == "" {
		return nil, fmt.Errorf("gateway: upstream %v is not an http(s) URL", cfg.Upstream)
	}
	if cfg.StreamTimeout < 0 {
		return nil, fmt.Errorf("gateway: negative stream timeout %v", cfg.StreamTimeout)
	}
	g := &Gateway{host: cfg.Host, logger: cfg.Logger, timeout: cfg.StreamTimeout, underscores: cfg.AllowUnderscoreHeaders}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	if g.timeout == 0 {
		g.timeout = 30 * time.Second
	}
	transport := cfg.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	upstream := *cfg.Upstream
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { exchangeOf(pr.In.Context()).rewrite(pr, &upstream) },
		Transport:      transport,
		FlushInterval:  -1, // stream what the filter releases as it releases it
		BufferPool:     &chunks,
		ModifyResponse: func(r *http.Response) error { return exchangeOf(r.Request.Context()).response(r) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			exchangeOf(r.Context()).upstreamError(w, err)
		},
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
	}
	return g, nil
}

// ServeHTTP runs one request through the filter and, if the filter lets it, the upstream.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if reason := g.codecRejects(r); reason != "" {
		// Refused as Envoy's codec and connection manager refuse it, before any filter runs.
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "Bad Request: "+reason+"\n")
		g.accessLog(r, http.StatusBadRequest, -1, time.Since(start))
		return
	}
	rec := &recorder{ResponseWriter: w}
	s := g.host.NewStream(streamInfo(r))
	ex := &exchange{g: g, s: s, w: rec, r: r}
	defer func() {
		p := recover() // ReverseProxy aborts a broken response with http.ErrAbortHandler
		abort := ex.finish()
		s.Done()
		status := rec.status
		if p != nil || abort {
			status = 0
		}
		g.accessLog(r, status, s.VM(), time.Since(start))
		switch {
		case p != nil:
			panic(p)
		case abort:
			panic(http.ErrAbortHandler) // reset the connection, as Envoy resets the stream
		}
	}()
	ex.serve()
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange { return ctx.Value(exchangeKey{}).(*exchange) }
