package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
)

// TestFilesOwnerOnly: every file of the store is owner-only while it is open — the database
// and SQLite's -wal and -shm, which hold the same rows (the signing seed among them) — both in
// a new directory and in one left with world-readable files by an earlier version or a crash.
func TestFilesOwnerOnly(t *testing.T) {
	tests := []struct {
		name     string
		existing []string // files present before Open, mode 0644
	}{
		{"new directory", nil},
		{"existing world-readable files", []string{"p.db", "p.db-wal", "p.db-shm"}},
		{"existing database only", []string{"p.db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "p.db")
			if len(tt.existing) > 0 {
				// A real database with its companions left behind, then opened up.
				s, err := sqlite.Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				write(t, s)
				s.Close()
				for _, name := range tt.existing {
					p := filepath.Join(dir, name)
					if _, err := os.Stat(p); os.IsNotExist(err) {
						os.WriteFile(p, nil, 0o644)
					}
					if err := os.Chmod(p, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			write(t, s) // the WAL and the shared-memory file exist now
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(path + suffix)
				if err != nil {
					t.Fatalf("%s: %v", suffix, err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("p.db%s mode %v, want 0600", suffix, fi.Mode().Perm())
				}
			}
		})
	}
}

// TestRefusesSharedDirectory: a data directory group or others can write is refused with a
// message that says how to fix it; one they can only read is accepted.
func TestRefusesSharedDirectory(t *testing.T) {
	tests := []struct {
		mode    os.FileMode
		wantErr bool
	}{
		{0o700, false},
		{0o750, false},
		{0o755, false},
		{0o770, true},
		{0o707, true},
		{0o777, true},
		{os.ModeSticky | 0o777, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			s, err := sqlite.Open(context.Background(), filepath.Join(dir, "p.db"))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "writable by group or others") || !strings.Contains(err.Error(), "chmod go-w") {
				t.Fatalf("error %q does not say what is wrong and how to fix it", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "p.db")); !os.IsNotExist(err) {
				t.Fatalf("created the database in the refused directory: %v", err)
			}
		})
	}
}

func write(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.Write(ctx, func(tx store.Tx) error { _, err := tx.BumpVersion(ctx, t0()); return err }); err != nil {
		t.Fatal(err)
	}
}

// TestPathWithURICharacters: '#', '?' and '%' in the path are file name characters, not parts
// of SQLite's URI syntax (a '#' used to cut the name short).
func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b?c%41d")
	path := filepath.Join(dir, "p#1.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s)
	s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
}
