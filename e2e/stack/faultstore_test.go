package stack_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/e2e/stack"
	sqlite "modernc.org/sqlite"
)

// diskQuota maps SQLite database paths to a page quota that every new connection to that file
// takes on (PRAGMA max_page_count): past it, a write that needs one more page fails with
// SQLITE_FULL, "database or disk is full", the error SQLite reports for a full disk. It is the
// portable stand-in for a full file system: it needs no mount and touches no other file.
//
// # Notes
//
// The pragma belongs to the connection, so the control server is restarted to take the quota
// on and again to drop it; a real full disk would fail and recover without restarts. It limits
// the database's pages only: a real full disk could also fail a WAL append or a checkpoint,
// which SQLite reports with the same error.
var diskQuota sync.Map // path → pages

func init() {
	sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
		path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
		pages, ok := diskQuota.Load(path)
		if !ok {
			return nil
		}
		_, err := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA max_page_count = %d", pages.(int)), nil)
		return err
	})
}

// pageCount is the database's size in pages now.
func pageCount(t testing.TB, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("PRAGMA page_count").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// replica starts a second control server on the same PostgreSQL database, reached directly:
// another replica, which keeps committing while this stack's server has lost its database.
func replica(t testing.TB, dsn, adminToken, masterKey string) *stack.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Start(ctx, server.Config{Addr: "127.0.0.1:0", DatabaseURL: dsn, AdminToken: adminToken, MasterKeyFile: masterKey})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.Wait(); err != nil {
			t.Errorf("stopping the replica: %v", err)
		}
	})
	return &stack.Client{BaseURL: "http://" + srv.Addr(), Token: adminToken}
}
