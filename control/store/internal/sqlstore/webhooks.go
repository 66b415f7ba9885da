package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/portcullis/portcullis/control/store"
)

const webhookColumns = `seq, name, preset, secret, secret_hint, next_secret, next_secret_hint, tolerance_seconds, url,
	replay_protection, created_at, updated_at`

func scanWebhook(row scanner) (store.Webhook, error) {
	var (
		w                store.Webhook
		created, updated sql.NullTime
	)
	err := row.Scan(&w.Seq, &w.Name, &w.Preset, &w.Secret, &w.SecretHint, &w.NextSecret, &w.NextSecretHint,
		&w.ToleranceSeconds, &w.URL, &w.ReplayProtection, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return w, store.ErrNotFound
	}
	if len(w.NextSecret) == 0 {
		w.NextSecret = nil
	}
	w.CreatedAt, w.UpdatedAt = nullTime(created), nullTime(updated)
	return w, err
}

// nullBytes stores an empty value as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (t *txn) InsertWebhook(ctx context.Context, w store.Webhook) error {
	if err := t.writable(); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO webhooks (name, preset, secret, secret_hint, next_secret, next_secret_hint,
		tolerance_seconds, url, replay_protection, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		w.Name, w.Preset, w.Secret, w.SecretHint, nullBytes(w.NextSecret), w.NextSecretHint, w.ToleranceSeconds, w.URL,
		w.ReplayProtection, t.d.time(w.CreatedAt), t.d.time(w.UpdatedAt))
	if err != nil {
		return t.fail("insert webhook", err)
	}
	return nil
}

func (t *txn) Webhook(ctx context.Context, name string) (store.Webhook, error) {
	w, err := scanWebhook(t.tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE name = $1`, name))
	if err != nil {
		return w, t.fail("read webhook", err)
	}
	return w, nil
}

func (t *txn) UpdateWebhook(ctx context.Context, w store.Webhook) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE webhooks SET preset = $1, secret = $2, secret_hint = $3, next_secret = $4,
		next_secret_hint = $5, tolerance_seconds = $6, url = $7, replay_protection = $8, updated_at = $9 WHERE name = $10`,
		w.Preset, w.Secret, w.SecretHint, nullBytes(w.NextSecret), w.NextSecretHint, w.ToleranceSeconds, w.URL,
		w.ReplayProtection, t.d.time(w.UpdatedAt), w.Name)
	if err != nil {
		return t.fail("update webhook", err)
	}
	return affectedOne(res)
}

func (t *txn) DeleteWebhook(ctx context.Context, name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM webhooks WHERE name = $1`, name)
	if err != nil {
		return t.fail("delete webhook", err)
	}
	return affectedOne(res)
}

func (t *txn) Webhooks(ctx context.Context) ([]store.Webhook, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY name`)
	if err != nil {
		return nil, t.fail("list webhooks", err)
	}
	defer rows.Close()
	var out []store.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, t.fail("scan webhook", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list webhooks", err)
	}
	return out, nil
}
