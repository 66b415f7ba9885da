// Package server assembles the control server: store, bootstrap, signing key, publisher and
// HTTP API, with graceful shutdown.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/api"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/jwks"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/postgres"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Config is the control server's configuration.
type Config struct {
	// Addr is the listen address (default ":8081").
	Addr string
	// Listener, when set, is served instead of listening on Addr; Start closes it on failure.
	Listener net.Listener
	// DatabaseURL selects PostgreSQL; when empty the embedded SQLite store at DataPath is used.
	DatabaseURL string
	DataPath    string // default "./data/portcullis.db"
	// AdminToken and DataplaneToken are bootstrap tokens (PORTCULLIS_ADMIN_TOKEN,
	// PORTCULLIS_DATAPLANE_TOKEN); see admin.Service.Bootstrap.
	AdminToken, DataplaneToken string
	// MasterKey is the base64 master key (PORTCULLIS_MASTER_KEY) that seals the secrets at
	// rest: webhook secrets and the snapshot signing key. Without it the key is read from
	// MasterKeyFile (default: "master-key" next to DataPath), which is created owner-only with
	// a fresh key on first start. Every replica on one database needs the same key.
	MasterKey     string
	MasterKeyFile string
	// InitialPolicy, if set, becomes the policy of a database whose policy was never changed
	// (the routes a new deployment starts with); it must be a valid policy document without keys.
	InitialPolicy []byte
	// Recheck is how often the version is re-read without a notification (default 5 s).
	Recheck time.Duration
	// TLSCert and TLSKey, both set, serve HTTPS.
	TLSCert, TLSKey string
	RateLimit       api.RateLimit
	// ShutdownTimeout bounds the graceful shutdown (default 10 s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Stdout receives the lines an operator needs: a generated admin token (once), the
	// snapshot public key and the listen address.
	Stdout io.Writer
	Clock  clock.Clock
	// JWKSMinInterval lowers the shortest refresh interval of fetched key sets (tests); 0
	// means jwks.MinInterval.
	JWKSMinInterval time.Duration
}

// Server is a started control server.
type Server struct {
	addr string
	pub  *publish.Publisher
	done chan error
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string { return s.addr }

// PublicKey is the key that verifies this server's snapshots: what a filter's plugin
// configuration names as control.public_key.
func (s *Server) PublicKey() ed25519.PublicKey { return s.pub.PublicKey() }

// Version is the snapshot version currently published.
func (s *Server) Version() uint64 { return s.pub.Current().Version }

// Publish publishes the store's current version now, without waiting for the change
// notification: what a caller that just wrote through the API and needs its change in the next
// snapshot a filter fetches calls.
func (s *Server) Publish(ctx context.Context) error { return s.pub.Refresh(ctx) }

// Wait blocks until the server has shut down (after ctx given to Start ends) and returns the
// first error of serving or shutting down.
func (s *Server) Wait() error { return <-s.done }

// Run starts the server and serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Wait()
}

// Start listens, then opens the store, applies migrations, makes sure an admin can log in,
// loads or creates the signing key, publishes the current snapshot and starts serving. Any
// failure here stops the start: nothing is served half-configured.
//
// # Notes
//
// The address is bound before the store is touched: a second start on a busy port must fail
// without rotating a bootstrap token that the running server's filters poll with.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	ln := cfg.Listener
	ok := false
	defer func() {
		if !ok && ln != nil {
			ln.Close()
		}
	}()
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("set both -tls-cert and -tls-key, or neither")
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, err
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	sealer, err := loadSealer(cfg)
	if err != nil {
		return nil, err
	}
	svc := admin.New(st, admin.Options{Clock: cfg.Clock, Sealer: sealer.Sealer})
	// The signing key first: it proves the master key is the one the data was sealed with
	// before anything else reads a sealed value.
	priv, err := svc.SigningKey(ctx)
	if err != nil {
		sealer.forget()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if n, err := svc.ImportPolicyWebhooks(ctx); err != nil {
		return nil, fmt.Errorf("webhook verifiers: %w", err)
	} else if n > 0 {
		cfg.Logger.Info("moved webhook verifiers out of the stored policy, secrets sealed", "verifiers", n)
	}
	if sealer.created != "" {
		fmt.Fprintf(cfg.Stdout, "master key: created %s (it seals the secrets in the database: back it up apart from the database; set PORTCULLIS_MASTER_KEY to supply your own)\n", sealer.created)
	}
	generated, err := svc.Bootstrap(ctx, cfg.AdminToken, cfg.DataplaneToken)
	if err != nil {
		return nil, fmt.Errorf("bootstrap tokens: %w", err)
	}
	if len(cfg.InitialPolicy) > 0 {
		applied, err := svc.SeedPolicy(ctx, cfg.InitialPolicy)
		if err != nil {
			return nil, fmt.Errorf("initial policy: %w", err)
		}
		if applied {
			cfg.Logger.Info("initial policy applied")
		}
	}
	reg := metrics.NewRegistry()
	pub := publish.New(st, priv, publish.Options{Sealer: sealer.Sealer, Clock: cfg.Clock, Recheck: cfg.Recheck, Logger: cfg.Logger, Metrics: reg})
	if err := pub.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("first snapshot: %w", err)
	}

	stop := make(chan struct{})
	fetcher := jwks.New(st, jwks.Options{Clock: cfg.Clock, Logger: cfg.Logger, MinInterval: cfg.JWKSMinInterval, Metrics: reg})
	handler := api.New(api.Config{Admin: svc, Publisher: pub, JWKS: fetcher, Clock: cfg.Clock, Logger: cfg.Logger, Metrics: reg,
		RateLimit: cfg.RateLimit, Stop: stop})
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Duration(snapshot.MaxWait+30) * time.Second, // a held poll plus the transfer
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if generated != "" {
		fmt.Fprintf(cfg.Stdout, "admin token: %s\n", generated)
		fmt.Fprintln(cfg.Stdout, "  (shown once; it is stored only as a hash. Set PORTCULLIS_ADMIN_TOKEN to choose your own.)")
	}
	fmt.Fprintf(cfg.Stdout, "snapshot public key: %s\n", snapshot.FormatPublicKey(pub.PublicKey()))
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(cfg.Stdout, "control server listening on %s://%s (snapshot version %d)\n", scheme, ln.Addr(), pub.Current().Version)

	pubCtx, cancelPub := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() { pub.Run(pubCtx); close(pubDone) }()
	fetchDone := make(chan struct{})
	go func() { fetcher.Run(pubCtx); close(fetchDone) }()
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if cfg.TLSCert != "" {
			err = hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
	}()

	s := &Server{addr: ln.Addr().String(), pub: pub, done: make(chan error, 1)}
	go func() {
		var err error
		select {
		case <-ctx.Done():
		case err = <-serveErr:
		}
		close(stop) // held polls answer 304 now
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err = errors.Join(err, hs.Shutdown(sctx))
		cancel()
		cancelPub()
		<-pubDone
		<-fetchDone
		err = errors.Join(err, st.Close())
		cfg.Logger.Info("control server stopped")
		s.done <- err
	}()
	ok = true
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Addr == "" {
		cfg.Addr = ":8081"
	}
	if cfg.DataPath == "" {
		cfg.DataPath = "./data/portcullis.db"
	}
	if cfg.MasterKeyFile == "" {
		cfg.MasterKeyFile = filepath.Join(filepath.Dir(cfg.DataPath), "master-key")
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return cfg
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		cfg.Logger.Info("store: postgres")
		return st, nil
	}
	st, err := sqlite.Open(ctx, cfg.DataPath)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("store: sqlite", "path", cfg.DataPath)
	return st, nil
}
