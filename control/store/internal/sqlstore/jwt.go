package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

func (t *txn) InsertRevocation(ctx context.Context, r store.Revocation) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO revocations (jti, expires_at, created_at, created_by) VALUES ($1, $2, $3, $4)`,
		r.JTI, t.d.time(r.ExpiresAt), t.d.time(r.CreatedAt), r.CreatedBy)
	if err != nil {
		return t.fail("insert revocation", err)
	}
	return nil
}

func (t *txn) DeleteRevocation(ctx context.Context, jti string) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM revocations WHERE jti = $1`, jti)
	if err != nil {
		return t.fail("delete revocation", err)
	}
	return affectedOne(res)
}

func (t *txn) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT jti, expires_at, created_at, created_by FROM revocations ORDER BY jti`)
	if err != nil {
		return nil, t.fail("list revocations", err)
	}
	defer rows.Close()
	var out []store.Revocation
	for rows.Next() {
		var (
			r           store.Revocation
			exp, create sql.NullTime
		)
		if err := rows.Scan(&r.JTI, &exp, &create, &r.CreatedBy); err != nil {
			return nil, t.fail("scan revocation", err)
		}
		r.ExpiresAt, r.CreatedAt = nullTime(exp), nullTime(create)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list revocations", err)
	}
	return out, nil
}

func (t *txn) PruneRevocations(ctx context.Context, before time.Time) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM revocations WHERE expires_at < $1`, t.d.time(before))
	if err != nil {
		return 0, t.fail("prune revocations", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *txn) JWKS(ctx context.Context, uri string) (store.FetchedJWKS, error) {
	var (
		j  store.FetchedJWKS
		ks string
		at sql.NullTime
	)
	err := t.tx.QueryRowContext(ctx, `SELECT uri, keys, fetched_at FROM jwks WHERE uri = $1`, uri).Scan(&j.URI, &ks, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return j, store.ErrNotFound
	}
	if err != nil {
		return j, t.fail("read jwks", err)
	}
	j.Keys, j.FetchedAt = []byte(ks), nullTime(at)
	return j, nil
}

func (t *txn) PutJWKS(ctx context.Context, j store.FetchedJWKS) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO jwks (uri, keys, fetched_at) VALUES ($1, $2, $3)
		ON CONFLICT (uri) DO UPDATE SET keys = excluded.keys, fetched_at = excluded.fetched_at`,
		j.URI, string(j.Keys), t.d.time(j.FetchedAt))
	if err != nil {
		return t.fail("put jwks", err)
	}
	return nil
}
