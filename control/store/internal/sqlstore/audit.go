package sqlstore

import (
	"context"
	"database/sql"

	"github.com/portcullis/portcullis/control/store"
)

func (t *txn) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	var id int64
	err := t.tx.QueryRowContext(ctx, `INSERT INTO audit (at, actor, action, target, version, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.d.time(e.At), e.Actor, e.Action, e.Target, int64(e.Version), nullJSON(e.Before), nullJSON(e.After)).Scan(&id)
	if err != nil {
		return 0, t.fail("append audit", err)
	}
	return id, nil
}

func (t *txn) ListAudit(ctx context.Context, before int64, limit int) ([]store.AuditEntry, error) {
	query, args := `SELECT id, at, actor, action, target, version, before, after FROM audit ORDER BY id DESC LIMIT $1`, []any{limit}
	if before > 0 {
		query, args = `SELECT id, at, actor, action, target, version, before, after FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2`, []any{before, limit}
	}
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, t.fail("list audit", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var (
			e           store.AuditEntry
			at          sql.NullTime
			version     int64
			before, aft sql.NullString
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &version, &before, &aft); err != nil {
			return nil, t.fail("scan audit", err)
		}
		e.At, e.Version = nullTime(at), uint64(version)
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if aft.Valid {
			e.After = []byte(aft.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list audit", err)
	}
	return out, nil
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
