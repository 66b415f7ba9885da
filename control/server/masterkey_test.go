package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/server"
)

// The master key: created owner-only next to the database on first start and used again on
// restart; a start with another key refuses, names the problem, and changes nothing.
func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data", "p.db")
	keyFile := filepath.Join(dir, "data", "master-key")
	s, stop, out := start(t, server.Config{DataPath: data})
	pk := regexp.MustCompile(`snapshot public key: (\S+)`).FindStringSubmatch(out.String())[1]
	if !strings.Contains(out.String(), "master key: created "+keyFile) {
		t.Fatalf("first start did not report the key file:\n%s", out)
	}
	info, err := os.Stat(keyFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	stop()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}

	// Another key from the environment: refused, and the database is left as it was.
	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, seal.KeySize))
	_, err = server.Start(context.Background(), server.Config{DataPath: data, Addr: "127.0.0.1:0", MasterKey: other})
	if !errors.Is(err, seal.ErrWrongKey) || !strings.Contains(err.Error(), "signing key") {
		t.Fatalf("start with another master key = %v; want a wrong-key error about the signing key", err)
	}

	// The key file lost (a database copied without it): refused too, and the file this start
	// generated is removed again so it cannot be mistaken for the real one.
	moved := filepath.Join(dir, "saved-key")
	if err := os.Rename(keyFile, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Start(context.Background(), server.Config{DataPath: data, Addr: "127.0.0.1:0"}); !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("start with a fresh key file = %v, want ErrWrongKey", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the generated key file stayed behind: %v", err)
	}
	if err := os.Rename(moved, keyFile); err != nil {
		t.Fatal(err)
	}

	s, stop, out = start(t, server.Config{DataPath: data})
	defer func() { stop(); s.Wait() }()
	if !strings.Contains(out.String(), "snapshot public key: "+pk) || strings.Contains(out.String(), "master key: created") {
		t.Fatalf("restart with the right key:\n%s", out)
	}
}
