package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
)

// TestMasterKeyFileOwnerOnly: a master key file an earlier run (or a copy) left readable by
// others is made owner-only at start, with either store; its directory must not be writable by
// group or others, also when the store is PostgreSQL and nothing else lives there.
func TestMasterKeyFileOwnerOnly(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "master-key")
			if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(file, 0o644)
			cfg := server.Config{DataPath: filepath.Join(dir, "p.db"), MasterKeyFile: file}
			if store == "postgres" {
				cfg.DatabaseURL = pgtest.DSN(t)
			}
			_, cancel, _ := start(t, cfg)
			cancel()
			if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("master key file: %v %v, want 0600", fi.Mode(), err)
			}

			os.Chmod(dir, 0o777)
			defer os.Chmod(dir, 0o700)
			cfg.Addr = "127.0.0.1:0"
			if _, err := server.Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
				t.Fatalf("start with the master key in a world-writable directory: %v", err)
			}
		})
	}
}
