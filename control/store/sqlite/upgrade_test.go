package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/internal/sqlstore"
	"github.com/portcullis/portcullis/control/store/storetest"
)

// A database file of release 1 (schema 001 only) upgrades when this release opens it.
func TestUpgradeFromSchema1(t *testing.T) {
	storetest.RunUpgrade(t, func(t *testing.T) storetest.Legacy {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlstore.Migrate(context.Background(), db, dialect, firstMigration(t), time.Now()); err != nil {
			t.Fatal(err)
		}
		return storetest.Legacy{DB: db, Time: dialect.Time, Reopen: func(t *testing.T) store.Store {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatalf("opening the old database: %v", err)
			}
			return s
		}}
	})
}

// firstMigration is the migrations directory as release 1 shipped it.
func firstMigration(t *testing.T) fstest.MapFS {
	body, err := fs.ReadFile(migrations, "001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"001_init.sql": {Data: body}}
}
