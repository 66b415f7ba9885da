package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

type connIDKey struct{}

// Serve is ServeTimeouts with the default timeouts.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, drain time.Duration, logger *slog.Logger) error {
	return ServeTimeouts(ctx, ln, handler, drain, logger, Timeouts{})
}

// ServeTimeouts serves handler on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for up to drain, and returns. Clients are bound by
// timeouts. Each connection gets an id for the connection.id property.
func ServeTimeouts(ctx context.Context, ln net.Listener, handler http.Handler, drain time.Duration, logger *slog.Logger, timeouts Timeouts) error {
	var ids atomic.Uint64
	timeouts = timeouts.withDefaults()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: timeouts.ReadHeader,
		ReadTimeout:       timeouts.Read,
		IdleTimeout:       timeouts.Idle,
		MaxHeaderBytes:    96 << 10, // Envoy's max_request_headers_kb default is 60 KiB; leave room above it
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connIDKey{}, ids.Add(1))
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("shutting down %s: %w", ln.Addr(), err)
	}
	return nil
}
