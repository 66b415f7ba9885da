package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/control/store"
)

const keyColumns = `seq, id, name, prefix, sha256, active, allowed_paths, permissions, is_admin, is_staff, tier,
	expires_at, created_at, updated_at, revoked_at, last_used_at, use_count`

func scanKey(row scanner, d *Dialect) (store.Key, error) {
	var (
		k                                 store.Key
		paths, perms                      string
		expires, created, updated, revoke sql.NullTime
		used                              sql.NullTime
		count                             int64
	)
	err := row.Scan(&k.Seq, &k.ID, &k.Name, &k.Prefix, &k.SHA256, &k.Active, &paths, &perms, &k.Admin, &k.Staff, &k.Tier,
		&expires, &created, &updated, &revoke, &used, &count)
	if errors.Is(err, sql.ErrNoRows) {
		return k, store.ErrNotFound
	}
	if err != nil {
		return k, err
	}
	if k.AllowedPaths, err = decodeList(paths); err != nil {
		return k, err
	}
	if k.Permissions, err = decodeList(perms); err != nil {
		return k, err
	}
	k.ExpiresAt, k.CreatedAt, k.UpdatedAt = nullTime(expires), nullTime(created), nullTime(updated)
	k.RevokedAt, k.LastUsedAt, k.UseCount = nullTime(revoke), nullTime(used), uint64(count)
	return k, nil
}

// insertKeySQL inserts the KeyInsertColumns.
var insertKeySQL = func() string {
	marks := make([]string, len(KeyInsertColumns))
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	return `INSERT INTO api_keys (` + strings.Join(KeyInsertColumns, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
}()

// keyRow is k as the values of KeyInsertColumns.
func (t *txn) keyRow(k store.Key) []any {
	return []any{k.ID, k.Name, k.Prefix, k.SHA256, k.Active, encodeList(k.AllowedPaths), encodeList(k.Permissions),
		k.Admin, k.Staff, k.Tier, t.time(k.ExpiresAt), t.time(k.CreatedAt), t.time(k.UpdatedAt), t.time(k.RevokedAt), int64(0),
		int64(t.bumped), int64(t.bumped)}
}

func (t *txn) InsertKey(ctx context.Context, k store.Key) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, insertKeySQL, t.keyRow(k)...); err != nil {
		return t.fail("insert key", err)
	}
	return nil
}

// bulkSavepoint is where InsertKeys' ErrConflict takes the transaction back to.
const bulkSavepoint = "insert_keys"

func (t *txn) InsertKeys(ctx context.Context, keys []store.Key) error {
	if err := t.writable(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if !t.bulk {
		// One savepoint for the transaction's bulk inserts: a conflict takes the transaction
		// back to it, still usable (on PostgreSQL a failed statement aborts the transaction; on
		// SQLite only the statement is undone, but batches span statements).
		if t.d.BulkStart != "" {
			if _, err := t.tx.ExecContext(ctx, t.d.BulkStart); err != nil {
				return t.fail("start bulk insert", err)
			}
		}
		t.bulk = true
		if _, err := t.tx.ExecContext(ctx, `SAVEPOINT `+bulkSavepoint); err != nil {
			return t.fail("start bulk insert", err)
		}
	}
	err := t.insertKeys(ctx, keys)
	if errors.Is(err, store.ErrConflict) {
		if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT `+bulkSavepoint); rerr != nil {
			return t.fail("undo bulk insert", errors.Join(err, rerr))
		}
	}
	return err
}

// insertKeys inserts keys with COPY where the dialect has it, else with multi-row INSERTs.
func (t *txn) insertKeys(ctx context.Context, keys []store.Key) error {
	if t.d.CopyKeys != nil {
		rows := make([][]any, len(keys))
		for i, k := range keys {
			rows[i] = t.keyRow(k)
		}
		if err := t.d.CopyKeys(ctx, t.conn, rows); err != nil {
			return t.fail("copy keys", err)
		}
		return nil
	}
	n := bulkRows
	args := make([]any, 0, n*len(KeyInsertColumns))
	for len(keys) > 0 {
		n = min(n, len(keys))
		stmt, err := t.bulkInsert(ctx, n)
		if err != nil {
			return t.fail("prepare key insert", err)
		}
		args = args[:0]
		for _, k := range keys[:n] {
			args = append(args, t.keyRow(k)...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return t.fail("insert keys", err)
		}
		keys = keys[n:]
	}
	return nil
}

// bulkRows is how many keys one INSERT of InsertKeys writes: 200 rows of 17 columns are 3,400
// parameters, well under SQLite's limit (32,766), and make the statement's own cost (parse
// once, then bind, cursors, the AUTOINCREMENT counter) a small share.
const bulkRows = 200

// bulkInsert returns the transaction's prepared INSERT of n rows: one for bulkRows, prepared on
// first use and kept, and one for the last, shorter chunk.
func (t *txn) bulkInsert(ctx context.Context, n int) (*sql.Stmt, error) {
	if n == bulkRows && t.insertFull != nil {
		return t.insertFull, nil
	}
	if n != bulkRows && t.insertTail != nil && t.tailRows == n {
		return t.insertTail, nil
	}
	// Parameters are anonymous (?): SQLite finds a numbered one ($N) by a linear search per
	// parameter, quadratic in a statement this size. OR FAIL: a conflict stops the statement
	// without undoing its earlier rows, which spares SQLite a statement journal (a copy of
	// every page the statement changes); InsertKeys' savepoint undoes them instead.
	row := "(" + strings.Repeat("?, ", len(KeyInsertColumns)-1) + "?)"
	var b strings.Builder
	b.WriteString(`INSERT OR FAIL INTO api_keys (` + strings.Join(KeyInsertColumns, ", ") + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	stmt, err := t.tx.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, err
	}
	if n == bulkRows {
		t.insertFull = stmt
	} else {
		if t.insertTail != nil {
			t.insertTail.Close()
		}
		t.insertTail, t.tailRows = stmt, n
	}
	return stmt, nil
}

func (t *txn) KeyConflicts(ctx context.Context, ids, hashes []string) (storedIDs, storedHashes []string, err error) {
	if storedIDs, err = t.stored(ctx, "id", ids); err != nil {
		return nil, nil, err
	}
	if storedHashes, err = t.stored(ctx, "sha256", hashes); err != nil {
		return nil, nil, err
	}
	return storedIDs, storedHashes, nil
}

// stored returns which of values the unique column holds.
func (t *txn) stored(ctx context.Context, column string, values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT `+column+` FROM api_keys WHERE `+column+` IN (`+t.d.JSONStrings+`)`, encodeList(values))
	if err != nil {
		return nil, t.fail("find stored keys", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, t.fail("find stored keys", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("find stored keys", err)
	}
	return out, nil
}

func (t *txn) Key(ctx context.Context, id string) (store.Key, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id), t.d)
	if err != nil {
		return k, t.fail("read key", err)
	}
	return k, nil
}

func (t *txn) UpdateKey(ctx context.Context, k store.Key) error {
	if err := t.writable(); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET name = $1, active = $2, allowed_paths = $3, permissions = $4,
		is_admin = $5, is_staff = $6, tier = $7, expires_at = $8, updated_at = $9, revoked_at = $10, changed_version = $11
		WHERE id = $12`,
		k.Name, k.Active, encodeList(k.AllowedPaths), encodeList(k.Permissions), k.Admin, k.Staff, k.Tier,
		t.d.time(k.ExpiresAt), t.d.time(k.UpdatedAt), t.d.time(k.RevokedAt), int64(t.bumped), k.ID)
	if err != nil {
		return t.fail("update key", err)
	}
	return affectedOne(res)
}

func (t *txn) ListKeys(ctx context.Context, after int64, limit int) ([]store.Key, error) {
	return t.keys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

func (t *txn) PublishedKeys(ctx context.Context) ([]store.Key, error) {
	return t.keys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id`)
}

func (t *txn) LiveKeys(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM api_keys) -
		(SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL)`).Scan(&n)
	if err != nil {
		return 0, t.fail("count live keys", err)
	}
	return n, nil
}

func (t *txn) KeysEverStored(ctx context.Context) (int64, error) {
	var n int64
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM api_keys`).Scan(&n); err != nil {
		return 0, t.fail("read the highest key seq", err)
	}
	return n, nil
}

func (t *txn) KeysChangedSince(ctx context.Context, after, upTo uint64) ([]store.KeyChange, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+keyColumns+`, created_version, changed_version FROM api_keys
		WHERE changed_version > $1 AND changed_version <= $2 ORDER BY id`, int64(after), int64(upTo))
	if err != nil {
		return nil, t.fail("list changed keys", err)
	}
	defer rows.Close()
	var out []store.KeyChange
	for rows.Next() {
		var (
			c                store.KeyChange
			created, changed int64
		)
		c.Key, err = scanKey(rowWith{rows, []any{&created, &changed}}, t.d)
		if err != nil {
			return nil, t.fail("scan changed key", err)
		}
		c.CreatedVersion, c.ChangedVersion = uint64(created), uint64(changed)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list changed keys", err)
	}
	return out, nil
}

// rowWith scans a row of keyColumns followed by the extra destinations.
type rowWith struct {
	scanner
	extra []any
}

func (r rowWith) Scan(dest ...any) error { return r.scanner.Scan(append(dest, r.extra...)...) }

// stampKeyVersions gives the keys this transaction (or an earlier one that bumped no version)
// wrote before it bumped the version the version it bumped to; keys written after the bump
// carry it already. Run before commit in every transaction that bumped the version.
func (t *txn) stampKeyVersions(ctx context.Context) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET
		created_version = CASE WHEN created_version = 0 THEN $1 ELSE created_version END, changed_version = $1
		WHERE changed_version = 0`, int64(t.bumped))
	if err != nil {
		return t.fail("stamp key versions", err)
	}
	return nil
}

func (t *txn) KeysInTiers(ctx context.Context, tiers []string, limit int) (ids []string, total int, err error) {
	if len(tiers) == 0 {
		return nil, 0, nil
	}
	// The tier names are few (a policy holds at most policy.MaxTiers), so one placeholder each.
	in := make([]string, len(tiers))
	args := make([]any, len(tiers))
	for i, name := range tiers {
		in[i], args[i] = "$"+strconv.Itoa(i+1), name
	}
	where := ` FROM api_keys WHERE revoked_at IS NULL AND tier IN (` + strings.Join(in, ", ") + `)`
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, t.fail("count keys in tiers", err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id`+where+` ORDER BY id LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, 0, t.fail("list keys in tiers", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, 0, t.fail("scan key id", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, t.fail("list keys in tiers", err)
	}
	return ids, total, nil
}

func (t *txn) keys(ctx context.Context, query string, args ...any) ([]store.Key, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, t.fail("list keys", err)
	}
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		k, err := scanKey(rows, t.d)
		if err != nil {
			return nil, t.fail("scan key", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("list keys", err)
	}
	return out, nil
}

func affectedOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
