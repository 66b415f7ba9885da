package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/internal/sqlstore"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/control/store/storetest"
)

// A database of release 1 (schema 001 only) upgrades when this release's replicas start on it.
func TestUpgradeFromSchema1(t *testing.T) {
	storetest.RunUpgrade(t, func(t *testing.T) storetest.Legacy {
		dsn := pgtest.DSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		body, err := fs.ReadFile(migrations, "001_init.sql")
		if err != nil {
			t.Fatal(err)
		}
		d := newDialect("unused")
		if err := sqlstore.Migrate(context.Background(), db, &d.Dialect, fstest.MapFS{"001_init.sql": {Data: body}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		return storetest.Legacy{DB: db, Time: d.Time, Reopen: func(t *testing.T) store.Store {
			s, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				t.Fatalf("opening the old database: %v", err)
			}
			return s
		}}
	})
}
