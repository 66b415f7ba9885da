package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/portcullis/portcullis/control/logging"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// drain is how long requests in flight may take to finish at shutdown.
const drain = 10 * time.Second

// run starts the host, the gateway, the admin server and (with -demo) the echo upstream, and
// serves until ctx ends.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	c, err := parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	wasm, err := os.ReadFile(c.module)
	if err != nil {
		return fmt.Errorf("reading the module (run make build?): %w", err)
	}
	var pluginConfig []byte
	var key string
	switch {
	case c.demo:
		if key, err = demoKey(); err != nil {
			return fmt.Errorf("demo key: %w", err)
		}
		if pluginConfig, err = demoConfig(key); err != nil {
			return err
		}
	case c.pluginConfig != "":
		if pluginConfig, err = os.ReadFile(c.pluginConfig); err != nil {
			return fmt.Errorf("reading the plugin configuration: %w", err)
		}
	}

	// Listen first, so an address in use fails before anything starts.
	var servers []server
	defer func() {
		for _, s := range servers {
			s.ln.Close()
		}
	}()
	listen := func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		return ln, nil
	}
	upstream := c.upstream
	if c.demo && upstream == "" {
		ln, err := listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		servers = append(servers, server{name: "echo upstream", ln: ln, handler: gateway.Echo(), last: true})
		upstream = "http://" + ln.Addr().String()
	}
	u, err := url.Parse(upstream)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	gwLn, err := listen(c.listen)
	if err != nil {
		return err
	}
	adminLn, err := listen(c.admin)
	if err != nil {
		gwLn.Close()
		return err
	}

	host, err := wasmhost.New(ctx, wasm, wasmhost.Options{
		Workers:             c.workers,
		PluginConfig:        pluginConfig,
		PluginName:          "portcullis",
		RootID:              "portcullis",
		VMID:                "portcullis",
		Clusters:            c.clusters,
		Logger:              logger,
		CompilationCacheDir: c.cacheDir,
	})
	if err != nil {
		gwLn.Close()
		adminLn.Close()
		return fmt.Errorf("starting %s: %w", c.module, err)
	}
	defer host.Close(context.Background())
	gw, err := gateway.New(gateway.Config{Host: host, Upstream: u, Logger: logger})
	if err != nil {
		gwLn.Close()
		adminLn.Close()
		return err
	}
	servers = append(servers, server{name: "gateway", ln: gwLn, handler: gw}, server{name: "admin", ln: adminLn, handler: gateway.Admin(host, gateway.PolicyFresh(c.maxPolicyAge))})

	fmt.Fprintf(stdout, "gateway: http://%s (upstream %s, %d VMs)\n", gwLn.Addr(), upstream, len(host.VMs()))
	fmt.Fprintf(stdout, "admin: http://%s/metrics\n", adminLn.Addr())
	if c.demo {
		fmt.Fprintf(stdout, "demo key: %s\n", key)
	}
	fmt.Fprintf(stdout, "readiness: http://%s/readyz\n", adminLn.Addr())
	return serveAll(ctx, cancel, servers, c.timeouts, logger)
}

type server struct {
	name    string
	ln      net.Listener
	handler http.Handler
	last    bool // shut down after the others (the demo upstream outlives the gateway's drain)
}

// serveAll serves until ctx ends or one server fails, which stops the others too. Servers
// marked last stop once the rest have drained.
func serveAll(ctx context.Context, cancel context.CancelFunc, servers []server, timeouts gateway.Timeouts, logger *slog.Logger) error {
	lastCtx, cancelLast := context.WithCancel(context.Background())
	defer cancelLast()
	var first, last sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		wg, sctx := &first, ctx
		if s.last {
			wg, sctx = &last, lastCtx
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := gateway.ServeTimeouts(sctx, s.ln, s.handler, drain, logger, timeouts); err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.name, err)
				cancel()
			}
		}()
	}
	first.Wait()
	cancelLast()
	last.Wait()
	return errors.Join(errs...)
}
