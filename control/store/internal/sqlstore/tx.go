package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// txn is store.Tx on a *sql.Tx.
type txn struct {
	tx       *sql.Tx
	d        *Dialect
	readOnly bool
	bumped   uint64 // the version this transaction bumped to, 0 if none
	// conn is the connection a Write transaction runs on (nil in Read); insertFull and
	// insertTail are InsertKeys' statements (of bulkRows and of tailRows rows), prepared on
	// first use.
	conn                   *sql.Conn
	insertFull, insertTail *sql.Stmt
	tailRows               int
	bulk                   bool // Dialect.BulkStart ran and the bulk savepoint is set
	// times memoizes Dialect.time for the few distinct times of a bulk insert (its keys'
	// created and updated times are one, and expiry times are often shared).
	times timeMemo
}

// end releases what the bulk path set up, once the transaction is over.
func (t *txn) end(ctx context.Context) {
	for _, s := range []*sql.Stmt{t.insertFull, t.insertTail} {
		if s != nil {
			s.Close()
		}
	}
	if t.bulk && t.d.BulkEnd != "" {
		t.conn.ExecContext(ctx, t.d.BulkEnd) // best effort: the setting only tunes the cache
	}
}

var _ store.Tx = (*txn)(nil)

func (t *txn) writable() error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	return nil
}

func (t *txn) fail(op string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case t.d.IsUnique(err):
		return fmt.Errorf("%s: %w", op, store.ErrConflict)
	}
	return fmt.Errorf("%s: %s: %w", t.d.Name, op, err)
}

func (t *txn) State(ctx context.Context) (store.State, error) {
	var (
		s  store.State
		v  int64
		at sql.NullTime
	)
	err := t.tx.QueryRowContext(ctx, `SELECT version, updated_at FROM state WHERE id = 1`).Scan(&v, &at)
	if err != nil {
		return s, t.fail("read state", err)
	}
	s.Version, s.UpdatedAt = uint64(v), at.Time.UTC()
	return s, nil
}

func (t *txn) BumpVersion(ctx context.Context, at time.Time) (store.State, error) {
	if err := t.writable(); err != nil {
		return store.State{}, err
	}
	var v int64
	err := t.tx.QueryRowContext(ctx, `UPDATE state SET version = version + 1, updated_at = $1 WHERE id = 1 RETURNING version`, t.d.time(at)).Scan(&v)
	if err != nil {
		return store.State{}, t.fail("bump version", err)
	}
	t.bumped = uint64(v)
	return store.State{Version: uint64(v), UpdatedAt: PrecisionTime(at)}, nil
}

func (t *txn) AdvanceVersion(ctx context.Context, past uint64, at time.Time) (store.State, error) {
	if err := t.writable(); err != nil {
		return store.State{}, err
	}
	if past >= 1<<63-1 {
		return store.State{}, fmt.Errorf("advance version past %d: out of range", past)
	}
	cur, err := t.State(ctx)
	if err != nil || cur.Version > past {
		return cur, err
	}
	var v int64
	err = t.tx.QueryRowContext(ctx, `UPDATE state SET version = $1, updated_at = $2 WHERE id = 1 RETURNING version`, int64(past)+1, t.d.time(at)).Scan(&v)
	if err != nil {
		return store.State{}, t.fail("advance version", err)
	}
	t.bumped = uint64(v)
	return store.State{Version: uint64(v), UpdatedAt: PrecisionTime(at)}, nil
}

func (t *txn) SigningKey(ctx context.Context) ([]byte, error) {
	var s sql.NullString
	if err := t.tx.QueryRowContext(ctx, `SELECT signing_key FROM state WHERE id = 1`).Scan(&s); err != nil {
		return nil, t.fail("read signing key", err)
	}
	if !s.Valid {
		return nil, nil
	}
	seed, err := base64.StdEncoding.DecodeString(s.String)
	if err != nil {
		return nil, fmt.Errorf("%s: stored signing key is not base64: %w", t.d.Name, err)
	}
	return seed, nil
}

func (t *txn) SetSigningKey(ctx context.Context, seed []byte) ([]byte, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE state SET signing_key = $1 WHERE id = 1 AND signing_key IS NULL`, base64.StdEncoding.EncodeToString(seed))
	if err != nil {
		return nil, t.fail("store signing key", err)
	}
	return t.SigningKey(ctx)
}

func (t *txn) Policy(ctx context.Context) (store.Policy, error) {
	var (
		p  store.Policy
		v  int64
		at sql.NullTime
	)
	var doc string
	err := t.tx.QueryRowContext(ctx, `SELECT policy, policy_version, policy_updated_at FROM state WHERE id = 1`).Scan(&doc, &v, &at)
	if err != nil {
		return p, t.fail("read policy", err)
	}
	p.Document, p.Version, p.UpdatedAt = []byte(doc), uint64(v), at.Time.UTC()
	return p, nil
}

func (t *txn) PutPolicy(ctx context.Context, p store.Policy) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE state SET policy = $1, policy_version = $2, policy_updated_at = $3 WHERE id = 1`,
		string(p.Document), int64(p.Version), t.d.time(p.UpdatedAt))
	if err != nil {
		return t.fail("write policy", err)
	}
	return nil
}

func (t *txn) ReplaceSigningKey(ctx context.Context, seed []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE state SET signing_key = $1 WHERE id = 1`, base64.StdEncoding.EncodeToString(seed))
	if err != nil {
		return t.fail("replace signing key", err)
	}
	return nil
}
