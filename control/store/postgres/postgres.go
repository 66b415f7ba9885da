// Package postgres is the store for several control server replicas: PostgreSQL through pgx.
// Replicas share the version counter (a single state row, locked by every write transaction)
// and learn of each other's commits with LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations is the migrations directory itself, whose files Migrate applies.
var migrations, _ = fs.Sub(migrationFiles, "migrations")

// migrationLockID is the advisory lock that serializes migrations of replicas starting together.
const migrationLockID = 0x706f7274 // "port"

// Options tune Open.
type Options struct {
	// Logger receives listener reconnects; nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the connection pool (default 10).
	MaxConns int
}

// Open connects to the database named by dsn (a postgres:// URL or key=value string; a
// search_path parameter selects a schema), applies the migrations and starts listening for
// other replicas' commits.
func Open(ctx context.Context, dsn string, opts Options) (store.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: current schema: %w", err)
	}
	d := newDialect(channelName(schema))
	if err := sqlstore.Migrate(ctx, db, &d.Dialect, migrations, time.Now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := sqlstore.New(db, &d.Dialect)
	l := &listener{cfg: cfg, channel: d.channel, notify: s.Notify, notifyVersion: s.NotifyVersion, log: opts.Logger}
	if err := l.start(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.OnClose(l.stop)
	return s, nil
}

type dialect struct {
	sqlstore.Dialect
	channel string
}

func newDialect(channel string) *dialect {
	d := &dialect{channel: channel}
	d.Dialect = sqlstore.Dialect{
		Name:           "postgres",
		LockWrites:     `SELECT version FROM state WHERE id = 1 FOR UPDATE`,
		LockMigrations: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, migrationLockID),
		ReadIsolation:  sql.LevelRepeatableRead,
		Time:           func(t time.Time) any { return t },
		IsUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23505"
		},
		Notify: func(ctx context.Context, tx *sql.Tx, version uint64) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, fmt.Sprint(version))
			return err
		},
		CopyKeys:    copyKeys,
		JSONStrings: `SELECT jsonb_array_elements_text($1::jsonb)`,
	}
	return d
}

// channelName is per schema, so that stores in different schemas of one database (tests, or
// separate deployments) do not wake each other.
func channelName(schema string) string {
	name := "portcullis_snapshot_" + schema
	if len(name) > 63 { // NAMEDATALEN - 1
		name = name[:63]
	}
	return name
}

// copyKeys inserts rows into api_keys with COPY, on the driver connection under conn: the
// transaction is the session's, so the rows commit or roll back with it.
func copyKeys(ctx context.Context, conn *sql.Conn, rows [][]any) error {
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy keys: driver connection is %T, not pgx", driverConn)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"api_keys"}, sqlstore.KeyInsertColumns, pgx.CopyFromRows(rows))
		return err
	})
}
