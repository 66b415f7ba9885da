// Package stack runs all of Portcullis in one process: the control server on its store, the
// compiled filter in worker VMs on e2e/wasmhost polling it, and the gateway in front of an
// upstream (the built-in echo unless one is given). `make run` starts one for people to try;
// the control-plane end-to-end tests start one per test on loopback ports.
//
// The filter is configured exactly as it would be in Envoy: a control section naming the
// control cluster, the data-plane token and the snapshot public key, and no inline policy, so
// every policy it enforces arrived as a signed snapshot.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// ControlCluster is the cluster name the filter polls, mapped to the control server's address.
const ControlCluster = "portcullis-control"

// drain is how long requests in flight may take to finish when the stack stops.
const drain = 10 * time.Second

// Config configures a Stack. Addresses default to 127.0.0.1 with a free port.
type Config struct {
	// Module is the compiled filter (build/portcullis.wasm).
	Module []byte
	// Control configures the control server: its store (DataPath or DatabaseURL), bootstrap
	// tokens, initial policy, address. A missing data-plane token is generated for this run.
	Control server.Config
	// GatewayAddr and AdminAddr are where the gateway and its metrics listen.
	GatewayAddr, AdminAddr string
	// GatewayListener and AdminListener, when set, are served instead of listening on the
	// addresses (as Control.Listener is for the control server); Listen sets all three.
	GatewayListener, AdminListener net.Listener
	// Upstream receives allowed requests; nil starts the echo upstream on a free port.
	Upstream *url.URL
	// Workers is the number of filter VMs; 0 means GOMAXPROCS.
	Workers int
	// PollInterval spaces the filter's polls after an error or "not modified" (default 200ms);
	// WaitSeconds is how long the control server holds a poll open (default 25).
	PollInterval time.Duration
	WaitSeconds  int
	// CompilationCacheDir keeps wazero's compiled filter between starts (empty: no cache).
	CompilationCacheDir string
	// ControlVia, when set, maps the control server's base URL to the URL the filter polls,
	// so a test can put a proxy in between. The server keeps its address across restarts.
	ControlVia func(controlURL string) string
	// Timeouts bound the gateway's clients (zero fields: gateway's defaults).
	Timeouts gateway.Timeouts
	// MaxPolicyAge is the readiness bound on the age of the filter's policy (/readyz on the
	// admin address; default gateway.DefaultMaxPolicyAge).
	MaxPolicyAge time.Duration
	// PollTimeout bounds one poll (the filter's control.timeout_ms); 0 leaves the filter's
	// default, WaitSeconds + 5 s.
	PollTimeout time.Duration
	// Clock is the filter host's clock (ticks, http_call timeouts, the filter's own time.Now);
	// nil is the real one. A test skews it to put the filter's time off the control server's.
	// With a *wasmhost.FakeClock, WaitApplied advances it by PollInterval while it waits, so the
	// first polls happen; otherwise time moves only when the test advances it.
	Clock wasmhost.Clock
	// ReloadOnTrap recreates a VM that trapped once ReloadBackoff has passed (Envoy's
	// FAIL_RELOAD); without it the VM answers 503 until the stack stops.
	ReloadOnTrap  bool
	ReloadBackoff time.Duration
	// ReadyTimeout bounds the wait for every VM to apply the first snapshot (default 30s).
	ReadyTimeout time.Duration
	// MaxCallResponseBytes bounds a poll answer the host hands the filter (wasmhost's
	// option; 0: its 64 MiB default, below a 1,000,000-key snapshot's 113 MB).
	MaxCallResponseBytes int
	// Logger receives the control server's and the gateway's logs; nil discards them.
	Logger *slog.Logger
	// BeforeFilter, when set, runs once the control server serves and before the filter
	// starts, with the server's base URL; what it changes through the API is published before
	// the filter's first poll, so the filter starts with it (make run's demo key: no request is
	// refused while the key travels).
	BeforeFilter func(ctx context.Context, controlURL string) error
}

// Stack is a running control server, filter host and gateway.
type Stack struct {
	cfg     Config
	host    *wasmhost.Host
	cancel  context.CancelFunc
	serving sync.WaitGroup
	errs    chan error

	gatewayURL, adminURL, upstreamURL string

	mu            sync.Mutex
	control       *server.Server
	controlCancel context.CancelFunc
	controlAddr   string
	publicKey     string
}

// Listen binds the gateway, admin and control server addresses of cfg that have no listener
// yet. A caller that must not touch anything while a port is busy (make run: the data
// directory) calls it first. On error nothing stays bound.
func Listen(cfg *Config) (err error) {
	cfg.withAddrDefaults()
	var bound []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range bound {
				ln.Close()
			}
		}
	}()
	for _, l := range []struct {
		ln   *net.Listener
		addr string
	}{{&cfg.Control.Listener, cfg.Control.Addr}, {&cfg.GatewayListener, cfg.GatewayAddr}, {&cfg.AdminListener, cfg.AdminAddr}} {
		if *l.ln != nil {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("stack: listening on %s: %w", l.addr, err)
		}
		*l.ln = ln
		bound = append(bound, ln)
	}
	return nil
}

// Start binds every port (Listen), then starts the control server, then the filter host
// configured to poll it, waits until every VM has applied the first snapshot, and starts
// serving. On error nothing is left running and no listener stays open.
//
// # Notes
//
// The ports are bound before the control server opens the store: a second stack on the same
// data that finds a port busy fails without rotating the data-plane token the running one
// polls with.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	defer func() {
		if err != nil {
			for _, ln := range []net.Listener{cfg.Control.Listener, cfg.GatewayListener, cfg.AdminListener} {
				if ln != nil {
					ln.Close() // closing one already served and closed is harmless
				}
			}
		}
	}()
	cfg = withDefaults(cfg)
	if len(cfg.Module) == 0 {
		return nil, errors.New("stack: no filter module")
	}
	if err := Listen(&cfg); err != nil {
		return nil, err
	}
	if cfg.Control.DataplaneToken == "" {
		if cfg.Control.DataplaneToken, err = auth.NewSecret(rand.Reader, auth.DataplanePrefix); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Stack{cfg: cfg, cancel: cancel, errs: make(chan error, 4)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.startControl(ctx, cfg.Control.Listener); err != nil {
		return nil, err
	}
	s.cfg.Control.Listener = nil // served; a restart listens on the same address again
	if cfg.BeforeFilter != nil {
		if err := cfg.BeforeFilter(ctx, s.ControlURL()); err != nil {
			return nil, err
		}
		if err := s.control.Publish(ctx); err != nil {
			return nil, fmt.Errorf("stack: publishing: %w", err)
		}
	}

	upstream := cfg.Upstream
	if upstream == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("stack: listening for the echo upstream: %w", err)
		}
		s.serve(runCtx, ln, gateway.Echo())
		upstream = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	}
	s.upstreamURL = upstream.String()
	gwLn, adminLn := cfg.GatewayListener, cfg.AdminListener

	pluginConfig, err := s.PluginConfig()
	if err != nil {
		return nil, err
	}
	s.host, err = wasmhost.New(ctx, cfg.Module, wasmhost.Options{
		Workers:      cfg.Workers,
		PluginConfig: pluginConfig,
		PluginName:   "portcullis", RootID: "portcullis", VMID: "portcullis",
		Clusters:             map[string]string{ControlCluster: s.clusterURL()},
		Logger:               cfg.Logger,
		CompilationCacheDir:  cfg.CompilationCacheDir,
		Clock:                cfg.Clock,
		ReloadOnTrap:         cfg.ReloadOnTrap,
		ReloadBackoff:        cfg.ReloadBackoff,
		MaxCallResponseBytes: cfg.MaxCallResponseBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("stack: starting the filter: %w", err)
	}
	if err := s.WaitApplied(ctx, len(s.host.VMs()), cfg.ReadyTimeout); err != nil {
		return nil, fmt.Errorf("stack: the filter did not apply the first snapshot: %w", err)
	}
	gw, err := gateway.New(gateway.Config{Host: s.host, Upstream: upstream, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s.serve(runCtx, gwLn, gw)
	s.serve(runCtx, adminLn, gateway.Admin(s.host, gateway.PolicyFresh(cfg.MaxPolicyAge)))
	s.gatewayURL = "http://" + gwLn.Addr().String()
	s.adminURL = "http://" + adminLn.Addr().String()
	return s, nil
}

func (cfg *Config) withAddrDefaults() {
	if cfg.Control.Addr == "" {
		cfg.Control.Addr = "127.0.0.1:0"
	}
	if cfg.GatewayAddr == "" {
		cfg.GatewayAddr = "127.0.0.1:0"
	}
	if cfg.AdminAddr == "" {
		cfg.AdminAddr = "127.0.0.1:0"
	}
}

func withDefaults(cfg Config) Config {
	cfg.withAddrDefaults()
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.WaitSeconds <= 0 {
		cfg.WaitSeconds = snapshot.DefaultWait
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Control.Logger == nil {
		cfg.Control.Logger = cfg.Logger
	}
	return cfg
}

func (s *Stack) serve(ctx context.Context, ln net.Listener, h http.Handler) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := gateway.ServeTimeouts(ctx, ln, h, drain, s.cfg.Logger, s.cfg.Timeouts); err != nil {
			s.errs <- err
		}
	}()
}

// PluginConfig is the filter's plugin configuration: what envoy.yaml would carry.
func (s *Stack) PluginConfig() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publicKey == "" {
		return nil, errors.New("stack: the control server has not started")
	}
	type obj = map[string]any
	control := obj{
		"cluster":          ControlCluster,
		"token":            s.cfg.Control.DataplaneToken,
		"public_key":       s.publicKey,
		"poll_interval_ms": s.cfg.PollInterval.Milliseconds(),
		"wait_seconds":     s.cfg.WaitSeconds,
	}
	if s.cfg.PollTimeout > 0 {
		control["timeout_ms"] = s.cfg.PollTimeout.Milliseconds()
	}
	return json.Marshal(obj{"control": control})
}

// clusterURL is where the filter polls: the control server, or what ControlVia puts before it.
func (s *Stack) clusterURL() string {
	u := "http://" + s.controlAddr
	if s.cfg.ControlVia != nil {
		u = s.cfg.ControlVia(u)
	}
	return u
}

// StartControl starts the control server again after StopControl, on the same address and
// store, as an operator restarting it would.
func (s *Stack) StartControl(ctx context.Context) error { return s.startControl(ctx, nil) }

// startControl starts the control server on ln, or on its address when ln is nil.
func (s *Stack) startControl(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.control != nil {
		return errors.New("stack: the control server is running")
	}
	cfg := s.cfg.Control
	cfg.Listener = ln
	if s.controlAddr != "" {
		cfg.Addr = s.controlAddr
	}
	cctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Start(cctx, cfg)
	if err != nil {
		cancel()
		return fmt.Errorf("stack: control server: %w", err)
	}
	key := snapshot.FormatPublicKey(srv.PublicKey())
	if s.publicKey != "" && key != s.publicKey {
		cancel()
		srv.Wait()
		return errors.New("stack: the control server came back with another signing key")
	}
	s.control, s.controlCancel, s.controlAddr, s.publicKey = srv, cancel, srv.Addr(), key
	return nil
}

// StopControl stops the control server and waits until it has shut down. The filter keeps
// enforcing what it last applied.
func (s *Stack) StopControl() error {
	s.mu.Lock()
	srv, cancel := s.control, s.controlCancel
	s.control, s.controlCancel = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	cancel()
	return srv.Wait()
}

// WaitApplied waits until the filter's VMs have applied n snapshots in all (each VM applies
// each version it sees once), so Applied()+len(VMs) is "every VM applied the next version".
func (s *Stack) WaitApplied(ctx context.Context, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if s.Applied() >= int64(n) {
			return nil
		}
		if fake, ok := s.cfg.Clock.(*wasmhost.FakeClock); ok {
			fake.Advance(s.cfg.PollInterval)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d snapshot applications after %v", s.Applied(), n, timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Applied is the number of policy versions applied so far (full snapshots and deltas), summed
// over the VMs.
func (s *Stack) Applied() int64 {
	m, _ := s.host.Metric("portcullis_snapshots_applied_total")
	d, _ := s.host.Metric("portcullis_deltas_applied_total")
	return m.Value + d.Value
}

// Host is the filter host, for metrics and VM state.
func (s *Stack) Host() *wasmhost.Host { return s.host }

// GatewayURL, AdminURL, ControlURL and UpstreamURL are the base URLs of the parts.
func (s *Stack) GatewayURL() string  { return s.gatewayURL }
func (s *Stack) AdminURL() string    { return s.adminURL }
func (s *Stack) UpstreamURL() string { return s.upstreamURL }
func (s *Stack) ControlURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.controlAddr
}

// PublicKey is the snapshot public key, base64.
func (s *Stack) PublicKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicKey
}

// Errors reports a server of the stack that stopped serving on its own.
func (s *Stack) Errors() <-chan error { return s.errs }

// Close stops serving (letting requests in flight finish), the filter host and the control
// server.
func (s *Stack) Close() error {
	s.cancel()
	s.serving.Wait()
	var err error
	if s.host != nil {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		err = s.host.Close(ctx)
		cancel()
	}
	return errors.Join(err, s.StopControl())
}

// WaitStatus sends the request (pseudo-headers and headers, no body) through the filter until
// every VM has answered it with want (200 meaning "let through to the upstream"), so the
// caller knows a change has reached all workers. A VM that answers otherwise after having
// answered want is waited for again. Allowed probes count as uses of the key they carry.
func (s *Stack) WaitStatus(ctx context.Context, headers [][2]string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	vms := len(s.host.VMs())
	ok := make(map[int]bool, vms)
	last := 0
	for len(ok) < vms {
		st := s.host.NewStream(wasmhost.StreamInfo{})
		r := st.RequestHeaders(headers, true)
		vm := st.VM()
		st.Done()
		last = http.StatusOK
		switch r.Action {
		case wasmhost.LocalResponse:
			last = r.Local.Status
		case wasmhost.Reset, wasmhost.Pause:
			last = 0
		}
		if last == want {
			ok[vm] = true
			continue
		}
		delete(ok, vm)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d VMs answer %d (last answer %d) after %v", len(ok), vms, want, last, timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
