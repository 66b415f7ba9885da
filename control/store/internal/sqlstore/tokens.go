package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/portcullis/portcullis/control/store"
)

const tokenColumns = `seq, id, kind, role, name, prefix, sha256, created_at, created_by, revoked_at`

func scanToken(row scanner, d *Dialect) (store.Token, error) {
	var (
		t                store.Token
		kind, role       string
		created, revoked sql.NullTime
	)
	err := row.Scan(&t.Seq, &t.ID, &kind, &role, &t.Name, &t.Prefix, &t.SHA256, &created, &t.CreatedBy, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Kind, t.Role = store.TokenKind(kind), store.Role(role)
	t.CreatedAt, t.RevokedAt = nullTime(created), nullTime(revoked)
	return t, nil
}

func (t *txn) InsertToken(ctx context.Context, tok store.Token) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO tokens (id, kind, role, name, prefix, sha256, created_at, created_by, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		tok.ID, string(tok.Kind), string(tok.Role), tok.Name, tok.Prefix, tok.SHA256, t.d.time(tok.CreatedAt), tok.CreatedBy, t.d.time(tok.RevokedAt))
	if err != nil {
		return t.fail("insert token", err)
	}
	return nil
}

func (t *txn) Token(ctx context.Context, id string) (store.Token, error) {
	tok, err := scanToken(t.tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id), t.d)
	if err != nil {
		return tok, t.fail("read token", err)
	}
	return tok, nil
}

func (t *txn) UpdateToken(ctx context.Context, tok store.Token) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE tokens SET name = $1, prefix = $2, sha256 = $3, revoked_at = $4 WHERE id = $5`,
		tok.Name, tok.Prefix, tok.SHA256, t.d.time(tok.RevokedAt), tok.ID)
	if err != nil {
		return t.fail("update token", err)
	}
	return affectedOne(res)
}

func (t *txn) ListTokens(ctx context.Context, kind store.TokenKind, after int64, limit int) ([]store.Token, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE kind = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		string(kind), after, limit)
	if err != nil {
		return nil, t.fail("list tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		tok, err := scanToken(rows, t.d)
		if err != nil {
			return nil, t.fail("scan token", err)
		}
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list tokens", err)
	}
	return out, nil
}

func (t *txn) CountActiveTokens(ctx context.Context, kind store.TokenKind, role store.Role) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE kind = $1 AND role = $2 AND revoked_at IS NULL`,
		string(kind), string(role)).Scan(&n)
	if err != nil {
		return 0, t.fail("count tokens", err)
	}
	return n, nil
}
