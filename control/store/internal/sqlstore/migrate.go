package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InitialPolicy is the policy of a new database: deny everything.
const InitialPolicy = `{"version":1,"default_action":"deny"}`

// Migrate applies the migrations in files (named NNN_description.sql, applied in order, each
// once) and creates the state row, in one transaction. It is idempotent, and replicas that start
// together serialize on Dialect.LockMigrations.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, files fs.FS, now time.Time) error {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin migration: %w", d.Name, err)
	}
	defer tx.Rollback()
	if d.LockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.LockMigrations); err != nil {
			return fmt.Errorf("%s: lock migrations: %w", d.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL)`); err != nil {
		return fmt.Errorf("%s: create schema_migrations: %w", d.Name, err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("%s: read schema_migrations: %w", d.Name, err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %q: name must start with a number and '_'", name)
		}
		if applied[v] {
			continue
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, name); err != nil {
			return fmt.Errorf("%s: record migration %s: %w", d.Name, name, err)
		}
	}
	at := d.time(now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO state (id, version, updated_at, policy, policy_version, policy_updated_at)
		VALUES (1, 1, $1, $2, 1, $1) ON CONFLICT (id) DO NOTHING`, at, InitialPolicy); err != nil {
		return fmt.Errorf("%s: create state: %w", d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit migrations: %w", d.Name, err)
	}
	return nil
}
