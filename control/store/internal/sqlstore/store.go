package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/portcullis/portcullis/control/store"
)

// Store is store.Store on a *sql.DB.
type Store struct {
	db *sql.DB
	d  *Dialect
	n  notifier
	// closeFn releases what the dialect package opened besides db (e.g. a listener).
	closeFn func() error
}

var _ store.Store = (*Store)(nil)

// New wraps an open, migrated database.
func New(db *sql.DB, d *Dialect) *Store {
	return &Store{db: db, d: d}
}

// OnClose registers fn to run when the store is closed, before the database is.
func (s *Store) OnClose(fn func() error) { s.closeFn = fn }

// Notify wakes the subscribers; the postgres package calls it when it may have missed commits
// (its listener reconnected).
func (s *Store) Notify() { s.n.Notify() }

// NotifyVersion wakes the subscribers if version is newer than any announced before; the
// postgres package calls it for each notification of a commit, its own included.
func (s *Store) NotifyVersion(version uint64) { s.n.NotifyVersion(version) }

// DB returns the underlying database.
func (s *Store) DB() *sql.DB { return s.db }

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: s.d.ReadIsolation, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: begin read: %w", s.d.Name, err)
	}
	defer tx.Rollback()
	if err := fn(&txn{tx: tx, d: s.d, readOnly: true}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit read: %w", s.d.Name, err)
	}
	return nil
}

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	// A connection of its own, so that Dialect.CopyKeys can reach the driver's connection
	// inside the transaction.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin write: %w", s.d.Name, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin write: %w", s.d.Name, err)
	}
	t := &txn{tx: tx, d: s.d, conn: conn}
	defer t.end(context.WithoutCancel(ctx)) // after the rollback below: deferred calls run last first
	defer tx.Rollback()
	if s.d.LockWrites != "" {
		if _, err := tx.ExecContext(ctx, s.d.LockWrites); err != nil {
			return fmt.Errorf("%s: lock: %w", s.d.Name, err)
		}
	}
	if err := fn(t); err != nil {
		return err
	}
	if t.bumped != 0 {
		if err := t.stampKeyVersions(ctx); err != nil {
			return err
		}
	}
	if t.bumped != 0 && s.d.Notify != nil {
		if err := s.d.Notify(ctx, tx, t.bumped); err != nil {
			return fmt.Errorf("%s: notify: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", s.d.Name, err)
	}
	if t.bumped != 0 {
		s.n.NotifyVersion(t.bumped)
	}
	return nil
}

// TokenByHash implements store.Store.
func (s *Store) TokenByHash(ctx context.Context, sha256 string) (store.Token, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE sha256 = $1`, sha256)
	return scanToken(row, s.d)
}

// RecordUsage implements store.Store. Rows are updated in id order so that concurrent reports
// lock rows in the same order and cannot deadlock.
func (s *Store) RecordUsage(ctx context.Context, uses map[string]store.Use) error {
	if len(uses) == 0 {
		return nil
	}
	ids := make([]string, 0, len(uses))
	for id := range uses {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin usage: %w", s.d.Name, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET use_count = use_count + $1,
		last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END
		WHERE id = $3`)
	if err != nil {
		return fmt.Errorf("%s: prepare usage: %w", s.d.Name, err)
	}
	defer stmt.Close()
	for _, id := range ids {
		n := min(uses[id].Count, math.MaxInt64/2)
		if _, err := stmt.ExecContext(ctx, int64(n), s.d.time(uses[id].At), id); err != nil {
			return fmt.Errorf("%s: record usage: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit usage: %w", s.d.Name, err)
	}
	return nil
}

// Subscribe implements store.Store.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.n.subscribe() }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.Name, err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var err error
	if s.closeFn != nil {
		err = s.closeFn()
	}
	return errors.Join(err, s.db.Close())
}
