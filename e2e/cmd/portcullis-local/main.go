// Command portcullis-local is `make run`: the control server on an embedded SQLite store (or
// PostgreSQL), the compiled filter on worker VMs polling it, and the local gateway in front of
// an echo upstream, in one process. It prints the admin token and a fresh demo API key, so the
// gateway can be tried with curl at once and keys managed through the admin API.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-local:", err)
		os.Exit(1)
	}
}

// demoPolicy protects every path with API keys. It becomes the policy of a new store only;
// policy edits made through the API survive restarts.
//
//go:embed policy.json
var demoPolicy []byte

// config is the command line.
type config struct {
	module, data, databaseURL string
	control, listen, admin    string
	workers                   int
	logLevel                  slog.Level
	logFormat                 string
	upstream                  *url.URL // nil: the built-in echo
	timeouts                  gateway.Timeouts
	maxPolicyAge              time.Duration
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var level string
	fs := flag.NewFlagSet("portcullis-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.module, "module", "build/portcullis.wasm", "compiled filter")
	fs.StringVar(&c.data, "data", "./data/portcullis.db", "SQLite database file; the admin token is kept beside it")
	fs.StringVar(&c.databaseURL, "database-url", getenv("PORTCULLIS_DATABASE_URL"), "PostgreSQL DSN instead of SQLite ($PORTCULLIS_DATABASE_URL)")
	fs.StringVar(&c.control, "control", ":8081", "control server (admin API) address")
	fs.StringVar(&c.listen, "listen", ":8080", "gateway address")
	fs.StringVar(&c.admin, "admin", ":9901", "gateway admin address: /metrics, /healthz")
	fs.IntVar(&c.workers, "workers", 0, "filter VMs; 0 is one per CPU")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log lines as text or json")
	var upstream string
	fs.StringVar(&upstream, "upstream", "", "base URL of your service behind the gateway (default: a built-in echo)")
	fs.DurationVar(&c.timeouts.ReadHeader, "read-header-timeout", gateway.DefaultReadHeaderTimeout, "time a gateway client has to send a request's headers")
	fs.DurationVar(&c.timeouts.Read, "read-timeout", gateway.DefaultReadTimeout, "time a gateway client has to send a whole request, body included; past it 408")
	fs.DurationVar(&c.timeouts.Idle, "idle-timeout", gateway.DefaultIdleTimeout, "time a kept-alive gateway connection may wait for its next request")
	fs.DurationVar(&c.maxPolicyAge, "max-policy-age", gateway.DefaultMaxPolicyAge, "the gateway's /readyz answers 503 when the filter's policy was last confirmed longer ago")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if upstream != "" {
		u, err := url.Parse(upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return c, fmt.Errorf("-upstream %q: want a base URL such as http://127.0.0.1:3000", upstream)
		}
		c.upstream = u
	}
	if c.workers < 0 {
		return c, fmt.Errorf("-workers: %d is negative", c.workers)
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return c, fmt.Errorf("-log-level: %w", err)
	}
	if c.timeouts.ReadHeader <= 0 || c.timeouts.Read <= 0 || c.timeouts.Idle <= 0 || c.maxPolicyAge <= 0 {
		return c, errors.New("-read-header-timeout, -read-timeout, -idle-timeout and -max-policy-age must be positive")
	}
	return c, nil
}
