package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/seal"
)

func TestSealOpens(t *testing.T) {
	s := seal.Random()
	secret := []byte("whsec_very-secret-value-123")
	sealed, err := s.Seal(secret, "webhook/gh/secret")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || !seal.IsSealed(sealed) {
		t.Fatalf("sealed value %q carries the plaintext or lacks the marker", sealed)
	}
	got, err := s.Open(sealed, "webhook/gh/secret")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tests := []struct {
		name   string
		s      *seal.Sealer
		sealed []byte
		ad     string
	}{
		{"another key", seal.Random(), sealed, "webhook/gh/secret"},
		{"another purpose", s, sealed, "webhook/other/secret"},
		{"altered", s, append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), "webhook/gh/secret"},
		{"truncated", s, sealed[:10], "webhook/gh/secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.s.Open(tc.sealed, tc.ad); !errors.Is(err, seal.ErrWrongKey) {
				t.Fatalf("Open = %v, want ErrWrongKey", err)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "master-key")
	k1, created, err := seal.LoadKey("", file)
	if err != nil || !created || len(k1) != seal.KeySize {
		t.Fatalf("first LoadKey = %d bytes, created %v, %v", len(k1), created, err)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode(), err)
	}
	k2, created, err := seal.LoadKey("", file)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadKey differs or was created again: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	k3, _, err := seal.LoadKey(env, file)
	if err != nil || !bytes.Equal(k3, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("LoadKey from the environment = %x, %v", k3, err)
	}
	for _, bad := range []string{"not base64 !!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, _, err := seal.LoadKey(bad, file); err == nil || !strings.Contains(err.Error(), seal.EnvVar) {
			t.Errorf("LoadKey(%q) = %v, want an error naming %s", bad, err, seal.EnvVar)
		}
	}
}
