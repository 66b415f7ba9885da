// Command portcullis-gateway runs a proxy-wasm filter (by default the Portcullis module) in
// front of an upstream without Envoy: the module runs in-process under wazero
// (e2e/wasmhost), requests go through it as in Envoy, allowed ones reach the upstream.
//
//	portcullis-gateway -demo                       # echo upstream, demo policy, prints a demo key
//	portcullis-gateway -config plugin.json -upstream http://127.0.0.1:3000
//
// Every flag has an environment variable (flags win): PORTCULLIS_MODULE, PORTCULLIS_CONFIG,
// PORTCULLIS_UPSTREAM, PORTCULLIS_CLUSTERS, PORTCULLIS_WORKERS, PORTCULLIS_LISTEN,
// PORTCULLIS_ADMIN, PORTCULLIS_DEMO, PORTCULLIS_CACHE_DIR, PORTCULLIS_LOG_LEVEL,
// PORTCULLIS_READ_HEADER_TIMEOUT, PORTCULLIS_READ_TIMEOUT, PORTCULLIS_IDLE_TIMEOUT,
// PORTCULLIS_MAX_POLICY_AGE.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-gateway:", err)
		os.Exit(1)
	}
}
