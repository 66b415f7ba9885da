// Package sqlstore implements store.Store on database/sql for both SQLite and PostgreSQL. The
// SQL is shared; what differs between the two databases is in a Dialect, supplied by the
// store/sqlite and store/postgres packages.
package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Name is used in error messages ("sqlite", "postgres").
	Name string
	// LockWrites, if set, runs first in every Write transaction to serialize writers across
	// processes (PostgreSQL: SELECT ... FOR UPDATE on the state row). SQLite serializes writers
	// with BEGIN IMMEDIATE instead.
	LockWrites string
	// LockMigrations, if set, runs first in the migration transaction so that replicas that
	// start together apply migrations once.
	LockMigrations string
	// ReadIsolation is the isolation level of Read transactions; it must give one consistent
	// view for the whole transaction.
	ReadIsolation sql.IsolationLevel
	// Time converts a non-zero time to a value the driver stores so that it sorts and
	// compares correctly in SQL.
	Time func(time.Time) any
	// IsUnique reports whether err is a uniqueness violation.
	IsUnique func(error) bool
	// Notify, if set, runs inside a Write transaction that bumped the version, to tell other
	// processes after the commit (PostgreSQL: pg_notify).
	Notify func(ctx context.Context, tx *sql.Tx, version uint64) error
	// CopyKeys, if set, inserts rows (the values of KeyInsertColumns, in order) into api_keys
	// in the Write transaction open on conn, faster than one INSERT per row (PostgreSQL:
	// COPY). Without it InsertKeys runs one prepared INSERT per row.
	CopyKeys func(ctx context.Context, conn *sql.Conn, rows [][]any) error
	// BulkStart, if set, runs on the connection before InsertKeys' first batch, and BulkEnd
	// after the transaction ends (SQLite: a page cache large enough for the indexes of a
	// million keys, then the default again, so that the import does not spill and re-read
	// pages on every insert).
	BulkStart, BulkEnd string
	// JSONStrings is a subquery yielding the strings of the JSON array in parameter $1, one
	// row each: one parameter for a list of any length.
	JSONStrings string
}

// KeyInsertColumns are the api_keys columns InsertKey and InsertKeys write.
var KeyInsertColumns = []string{"id", "name", "prefix", "sha256", "active", "allowed_paths", "permissions",
	"is_admin", "is_staff", "tier", "expires_at", "created_at", "updated_at", "revoked_at", "use_count",
	"created_version", "changed_version"}

// PrecisionTime normalizes times to what both databases keep: UTC, microseconds.
func PrecisionTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (d *Dialect) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.Time(PrecisionTime(t))
}
