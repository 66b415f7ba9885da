package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var adminLine = regexp.MustCompile(`(?m)^admin token: (pca_[a-z2-7]{39})$`)

func start(t *testing.T, cfg server.Config) (*server.Server, context.CancelFunc, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cfg.Addr, cfg.Stdout = "127.0.0.1:0", out
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return s, cancel, out
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

// First start prints the admin token once and the public key; a restart on the same data
// keeps state and prints no token.
func TestStartRestartSQLite(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data", "p.db")
	s, stop, out := start(t, server.Config{DataPath: data})
	m := adminLine.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "snapshot public key: ") {
		t.Fatalf("first start printed:\n%s", out)
	}
	tok := m[1]
	base := "http://" + s.Addr()
	req, _ := http.NewRequest("POST", base+"/v1/keys", strings.NewReader(`{"name":"kept"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create key: %v %v", resp, err)
	}
	resp.Body.Close()
	pk := regexp.MustCompile(`snapshot public key: (\S+)`).FindStringSubmatch(out.String())[1]
	stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	s, stop, out = start(t, server.Config{DataPath: data})
	defer func() { stop(); s.Wait() }()
	if adminLine.MatchString(out.String()) {
		t.Fatal("restart printed a new admin token")
	}
	if !strings.Contains(out.String(), "snapshot public key: "+pk) {
		t.Fatalf("restart uses another signing key:\n%s", out)
	}
	code, list := get(t, "http://"+s.Addr()+"/v1/keys", tok)
	if code != 200 || len(list["keys"].([]any)) != 1 {
		t.Fatalf("after restart: %d %v", code, list)
	}
	if code, ready := get(t, "http://"+s.Addr()+"/readyz", ""); code != 200 || ready["snapshot_version"] != 2.0 {
		t.Fatalf("readyz after restart: %d %v", code, ready)
	}
}

// Shutdown answers held polls at once instead of waiting out their wait.
func TestShutdownReleasesPolls(t *testing.T) {
	const plane = "pcd_test_plane_token_000000"
	s, stop, _ := start(t, server.Config{DataPath: filepath.Join(t.TempDir(), "p.db"), DataplaneToken: plane})
	_, ready := get(t, "http://"+s.Addr()+"/readyz", "")
	held := strconv.FormatFloat(ready["snapshot_version"].(float64), 'f', 0, 64) // current: held
	done := make(chan int, 1)
	go func() {
		code, _ := get(t, "http://"+s.Addr()+"/v1/snapshot?version="+held+"&wait=60", plane)
		done <- code
	}()
	time.Sleep(100 * time.Millisecond)
	begin := time.Now()
	stop()
	select {
	case code := <-done:
		if code != http.StatusNotModified {
			t.Fatalf("held poll answered %d at shutdown", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held poll not released by shutdown")
	}
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}

func TestStartPostgres(t *testing.T) {
	s, stop, out := start(t, server.Config{DatabaseURL: pgtest.DSN(t), MasterKeyFile: filepath.Join(t.TempDir(), "master-key"), AdminToken: "pca_admin_token_from_env_00"})
	defer func() { stop(); s.Wait() }()
	if adminLine.MatchString(out.String()) {
		t.Fatal("a token was generated although PORTCULLIS_ADMIN_TOKEN was set")
	}
	if code, _ := get(t, "http://"+s.Addr()+"/v1/keys", "pca_admin_token_from_env_00"); code != 200 {
		t.Fatalf("env admin token: %d", code)
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"half TLS", server.Config{DataPath: filepath.Join(dir, "a.db"), TLSCert: "c.pem"}, "tls"},
		{"short admin token", server.Config{DataPath: filepath.Join(dir, "b.db"), AdminToken: "short"}, "PORTCULLIS_ADMIN_TOKEN"},
		{"unreachable database", server.Config{DatabaseURL: "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"}, "postgres"},
		{"invalid initial policy", server.Config{DataPath: filepath.Join(dir, "d.db"), InitialPolicy: []byte(`{"version":2}`)}, "initial policy"},
		{"bad listen address", server.Config{DataPath: filepath.Join(dir, "c.db"), Addr: "256.0.0.1:99999"}, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Addr == "" {
				tc.cfg.Addr = "127.0.0.1:0"
			}
			s, err := server.Start(context.Background(), tc.cfg)
			if err == nil {
				s.Wait()
				t.Fatal("started")
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
