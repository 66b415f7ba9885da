// Command portcullis-control is the Portcullis control server: the admin API for API keys and
// policy, and the signed snapshots the filters poll.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/portcullis/portcullis/control/logging"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/control/api"
	"github.com/portcullis/portcullis/control/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-control:", err)
		os.Exit(1)
	}
}

// run parses flags and environment and runs the server until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portcullis-control", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rl := api.DefaultRateLimit()
	var (
		addr     = fs.String("addr", ":8081", "listen address")
		data     = fs.String("data", "./data/portcullis.db", "SQLite database file (used when no database URL is set)")
		dbURL    = fs.String("database-url", getenv("PORTCULLIS_DATABASE_URL"), "PostgreSQL DSN; selects the PostgreSQL store (env PORTCULLIS_DATABASE_URL)")
		keyFile  = fs.String("master-key-file", "", "file holding the master key that seals secrets at rest, created on first start (default: master-key next to -data; env PORTCULLIS_MASTER_KEY takes precedence)")
		initial  = fs.String("initial-policy", "", "policy document (JSON, without keys) for a database whose policy was never changed")
		recheck  = fs.Duration("recheck", 5*time.Second, "how often to re-read the snapshot version without a notification")
		tlsCert  = fs.String("tls-cert", "", "TLS certificate file (with -tls-key: serve HTTPS)")
		tlsKey   = fs.String("tls-key", "", "TLS private key file")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
		logFmt   = fs.String("log-format", "text", "log lines as text or json")
	)
	fs.Float64Var(&rl.AdminRate, "admin-rate", rl.AdminRate, "requests per second per admin token")
	fs.IntVar(&rl.AdminBurst, "admin-burst", rl.AdminBurst, "burst per admin token")
	fs.Float64Var(&rl.DataplaneRate, "dataplane-rate", rl.DataplaneRate, "requests per second per data-plane token")
	fs.IntVar(&rl.DataplaneBurst, "dataplane-burst", rl.DataplaneBurst, "burst per data-plane token")
	fs.Float64Var(&rl.AnonymousRate, "anonymous-rate", rl.AnonymousRate, "requests per second per client address without a valid token")
	fs.IntVar(&rl.AnonymousBurst, "anonymous-burst", rl.AnonymousBurst, "burst per client address without a valid token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger, err := logging.New(stderr, *logFmt, level)
	if err != nil {
		return err
	}
	for name, v := range map[string]float64{"admin-rate": rl.AdminRate, "dataplane-rate": rl.DataplaneRate, "anonymous-rate": rl.AnonymousRate} {
		if v <= 0 {
			return fmt.Errorf("-%s must be positive", name)
		}
	}
	for name, v := range map[string]int{"admin-burst": rl.AdminBurst, "dataplane-burst": rl.DataplaneBurst, "anonymous-burst": rl.AnonymousBurst} {
		if v < 1 {
			return fmt.Errorf("-%s must be at least 1", name)
		}
	}
	if *recheck <= 0 {
		return fmt.Errorf("-recheck must be positive")
	}
	var initialPolicy []byte
	if *initial != "" {
		b, err := os.ReadFile(*initial)
		if err != nil {
			return fmt.Errorf("-initial-policy: %w", err)
		}
		initialPolicy = b
	}
	return server.Run(ctx, server.Config{
		InitialPolicy: initialPolicy,
		Addr:          *addr, DataPath: *data, DatabaseURL: *dbURL,
		MasterKey: getenv("PORTCULLIS_MASTER_KEY"), MasterKeyFile: *keyFile,
		AdminToken: getenv("PORTCULLIS_ADMIN_TOKEN"), DataplaneToken: getenv("PORTCULLIS_DATAPLANE_TOKEN"),
		Recheck: *recheck, TLSCert: *tlsCert, TLSKey: *tlsKey, RateLimit: rl,
		Logger: logger,
		Stdout: stdout,
	})
}
