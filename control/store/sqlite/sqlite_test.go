package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/control/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Reopening applies no migration twice and keeps the data; the directory is created and the
// file is private.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "p.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx store.Tx) error { _, err := tx.BumpVersion(ctx, t0()); return err }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	var st store.State
	if err := s.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.State(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 {
		t.Fatalf("version after reopen = %d, want 2", st.Version)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := sqlite.Open(ctx, ""); err == nil {
		t.Fatal("empty path accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := sqlite.Open(ctx, filepath.Join(file, "p.db")); err == nil {
		t.Fatal("path below a regular file accepted")
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte("this is not a database, just some text that is long enough to be a header"), 0o600)
	if _, err := sqlite.Open(ctx, garbage); err == nil {
		t.Fatal("a file that is not a database accepted")
	}
}
