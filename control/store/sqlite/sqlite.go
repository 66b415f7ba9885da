// Package sqlite is the embedded store: one SQLite file, pure Go (modernc.org/sqlite), no
// separate database to run. It serves a single control server process.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/internal/sqlstore"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations is the migrations directory itself, whose files Migrate applies.
var migrations, _ = fs.Sub(migrationFiles, "migrations")

// timeLayout is fixed-width UTC, so that stored times compare correctly as text.
const timeLayout = "2006-01-02 15:04:05.000000000-07:00"

// uriPath escapes what SQLite's URI filenames give a meaning to: '?' starts the parameters,
// '#' a fragment, '%' an escape.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

var dialect = &sqlstore.Dialect{
	Name:          "sqlite",
	ReadIsolation: sql.LevelDefault,
	Time:          func(t time.Time) any { return t.UTC().Format(timeLayout) },
	IsUnique: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	JSONStrings: `SELECT value FROM json_each($1)`,
	BulkStart:   `PRAGMA cache_size = -262144`, // 256 MiB, used as the import needs it
	BulkEnd:     `PRAGMA cache_size = -2000`,   // SQLite's default, 2 MiB
}

// Open opens (creating if needed) the database file at path, creating its directory, and
// applies the migrations. The directory must not be writable by group or others (PrivateDir);
// the database and SQLite's -wal and -shm files are owner-only (0600), including files an
// earlier run left with another mode.
//
// # Notes
//
// Write transactions start with BEGIN IMMEDIATE, so writers queue on SQLite's lock (with a
// busy timeout) instead of failing; the file is in WAL mode so reads proceed alongside. Only one
// process should use a file: several replicas need PostgreSQL.
func Open(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	if err := PrivateDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + uriPath.Replace(path) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := sqlstore.Migrate(ctx, db, dialect, migrations, time.Now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return sqlstore.New(db, dialect), nil
}
