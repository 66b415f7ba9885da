package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// listener holds one connection in LISTEN on the store's channel and wakes the store's
// subscribers on every notification of a version they have not heard of. When the connection breaks it reconnects with backoff and
// wakes the subscribers once connected again, because notifications sent meanwhile are lost;
// the publisher's periodic re-check covers the time in between.
type listener struct {
	cfg     *pgx.ConnConfig
	channel string
	notify  func()
	// notifyVersion is told the version a notification carries.
	notifyVersion func(uint64)
	log           *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (l *listener) start(ctx context.Context) error {
	conn, err := l.connect(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.run(runCtx, conn)
	}()
	return nil
}

func (l *listener) stop() error {
	l.cancel()
	l.wg.Wait()
	return nil
}

func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: listener connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	backoff := 100 * time.Millisecond
	for {
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			if v, err := strconv.ParseUint(n.Payload, 10, 64); err == nil {
				l.notifyVersion(v)
			} else {
				l.notify() // not ours to judge; waking costs one re-read
			}
		}
		conn.Close(context.Background())
		for {
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("postgres listener disconnected; reconnecting", "backoff", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			var err error
			if conn, err = l.connect(ctx); err == nil {
				backoff = 100 * time.Millisecond
				l.notify() // whatever was committed while we were away
				break
			}
			l.log.Warn("postgres listener reconnect failed", "err", err)
		}
	}
}
