package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
)

// config is the command line after flags and environment are merged.
type config struct {
	module, pluginConfig, upstream string
	clusters                       map[string]string
	workers                        int
	listen, admin                  string
	demo                           bool
	cacheDir                       string
	logLevel                       slog.Level
	logFormat                      string
	timeouts                       gateway.Timeouts
	maxPolicyAge                   time.Duration
}

// parse reads flags, with defaults taken from the environment: an explicit flag wins over the
// environment, which wins over the built-in default.
func parse(args []string, lookup func(string) (string, bool), stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v, ok := lookup("PORTCULLIS_" + name); ok {
			return v
		}
		return def
	}
	var c config
	var clusters, workers, demo, level, readHeader, read, idle, maxAge string
	fs := flag.NewFlagSet("portcullis-gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.module, "module", env("MODULE", "build/portcullis.wasm"), "proxy-wasm module to run ($PORTCULLIS_MODULE)")
	fs.StringVar(&c.pluginConfig, "config", env("CONFIG", ""), "plugin configuration file ($PORTCULLIS_CONFIG)")
	fs.StringVar(&c.upstream, "upstream", env("UPSTREAM", ""), "base URL of the upstream ($PORTCULLIS_UPSTREAM)")
	fs.StringVar(&clusters, "clusters", env("CLUSTERS", ""), "clusters for http_call: name=url,name=url ($PORTCULLIS_CLUSTERS)")
	fs.StringVar(&workers, "workers", env("WORKERS", "0"), "worker VMs; 0 is one per CPU ($PORTCULLIS_WORKERS)")
	fs.StringVar(&c.listen, "listen", env("LISTEN", ":8080"), "gateway address ($PORTCULLIS_LISTEN)")
	fs.StringVar(&c.admin, "admin", env("ADMIN", ":9901"), "admin address: /metrics, /healthz ($PORTCULLIS_ADMIN)")
	fs.StringVar(&demo, "demo", env("DEMO", "false"), "run an echo upstream with a demo policy and key ($PORTCULLIS_DEMO)")
	fs.StringVar(&c.cacheDir, "cache-dir", env("CACHE_DIR", ""), "wazero compilation cache directory ($PORTCULLIS_CACHE_DIR)")
	fs.StringVar(&level, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error ($PORTCULLIS_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", env("LOG_FORMAT", "text"), "log lines as text or json ($PORTCULLIS_LOG_FORMAT)")
	fs.StringVar(&readHeader, "read-header-timeout", env("READ_HEADER_TIMEOUT", gateway.DefaultReadHeaderTimeout.String()),
		"time a client has to send a request's headers ($PORTCULLIS_READ_HEADER_TIMEOUT)")
	fs.StringVar(&read, "read-timeout", env("READ_TIMEOUT", gateway.DefaultReadTimeout.String()),
		"time a client has to send a whole request, body included; past it 408 ($PORTCULLIS_READ_TIMEOUT)")
	fs.StringVar(&idle, "idle-timeout", env("IDLE_TIMEOUT", gateway.DefaultIdleTimeout.String()),
		"time a kept-alive connection may wait for its next request ($PORTCULLIS_IDLE_TIMEOUT)")
	fs.StringVar(&maxAge, "max-policy-age", env("MAX_POLICY_AGE", gateway.DefaultMaxPolicyAge.String()),
		"/readyz answers 503 when the filter's policy was last confirmed longer ago ($PORTCULLIS_MAX_POLICY_AGE)")
	// -demo alone means true, as a boolean flag would.
	args = expandBool(args, "demo")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.demo, err = strconv.ParseBool(demo); err != nil {
		return c, fmt.Errorf("demo: %q is not a boolean", demo)
	}
	if c.workers, err = strconv.Atoi(workers); err != nil || c.workers < 0 {
		return c, fmt.Errorf("workers: %q is not a count", workers)
	}
	if c.clusters, err = parseClusters(clusters); err != nil {
		return c, err
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return c, fmt.Errorf("log level: %w", err)
	}
	for _, d := range []struct {
		name  string
		value string
		to    *time.Duration
	}{{"read-header-timeout", readHeader, &c.timeouts.ReadHeader}, {"read-timeout", read, &c.timeouts.Read}, {"idle-timeout", idle, &c.timeouts.Idle},
		{"max-policy-age", maxAge, &c.maxPolicyAge}} {
		if *d.to, err = positiveDuration(d.value); err != nil {
			return c, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	if c.demo && c.pluginConfig != "" {
		return c, errors.New("-demo brings its own plugin configuration; drop -config")
	}
	if !c.demo && c.upstream == "" {
		return c, errors.New("no upstream: set -upstream or PORTCULLIS_UPSTREAM, or use -demo")
	}
	return c, nil
}

// positiveDuration parses a Go duration ("30s", "2m") that must be above zero: a timeout of
// zero would mean none, which is what the timeouts are there to prevent.
func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 30s", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s must be positive", s)
	}
	return d, nil
}

// expandBool turns a bare -name into -name=true, so the flag can take its default from the
// environment yet still be used as a switch.
func expandBool(args []string, name string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a == "-"+name || a == "--"+name {
			a += "=true"
		}
		out = append(out, a)
	}
	return out
}

// parseClusters reads name=url,name=url.
func parseClusters(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, url, ok := strings.Cut(item, "=")
		if !ok || name == "" || url == "" {
			return nil, fmt.Errorf("clusters: %q is not name=url", item)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("clusters: %q is defined twice", name)
		}
		out[name] = url
	}
	return out, nil
}
