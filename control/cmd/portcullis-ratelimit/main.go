// Command portcullis-ratelimit serves the global rate-limit service (Envoy's rate limit
// service protocol over HTTP/JSON, POST /json) on Redis. Point the filter's "ratelimit"
// cluster at it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/control/ratelimit"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to serve POST /json on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address (host:port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *redisAddr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-ratelimit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, redisAddr string) error {
	rdb, err := ratelimit.Dial(ctx, redisAddr)
	if err != nil {
		return err
	}
	defer rdb.Close()
	srv := &http.Server{Addr: listen, Handler: ratelimit.Handler(ratelimit.Config{Redis: rdb}), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("portcullis-ratelimit: serving", "listen", listen, "redis", redisAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
