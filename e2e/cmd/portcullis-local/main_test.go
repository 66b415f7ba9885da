package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/stack"
)

// started is what the command printed, parsed.
type started struct {
	gateway, api, adminToken, demoKey string
	lines                             []string // the start-up output
}

// launch runs the command as make run does, on loopback ports and the given data directory,
// until stop is called or the test ends. It returns once the start-up output is complete.
func launch(t *testing.T, data string, env map[string]string) (_ started, stop func()) {
	t.Helper()
	return launchWith(t, data, env, nil, io.Discard)
}

// launchWith is launch with more flags and the command's stderr (its logs).
func launchWith(t *testing.T, data string, env map[string]string, extra []string, stderr io.Writer) (_ started, stop func()) {
	t.Helper()
	buildout.Module(t, "portcullis.wasm") // fails the test when the module is missing
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := []string{"-module", buildout.Path("portcullis.wasm"), "-data", filepath.Join(data, "portcullis.db"),
		"-control", "127.0.0.1:0", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-workers", "2", "-log-level", "error"}
	go func() {
		done <- run(ctx, append(args, extra...), func(k string) string { return env[k] }, pw, stderr)
		pw.Close()
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	var s started
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "try: ") { // the last line of the start-up output
			s.lines = append(s.lines, line)
			break
		}
		s.lines = append(s.lines, line)
		field := func(prefix string) string {
			rest, _ := strings.CutPrefix(line, prefix)
			return strings.Fields(rest)[0]
		}
		switch {
		case strings.HasPrefix(line, "gateway: "):
			s.gateway = field("gateway: ")
		case strings.HasPrefix(line, "admin API: "):
			s.api = strings.TrimSuffix(field("admin API: "), "/v1")
		case strings.HasPrefix(line, "admin token: ") && strings.Contains(line, "(new:"):
			s.adminToken = field("admin token: ")
		case strings.HasPrefix(line, "demo key: "):
			s.demoKey = field("demo key: ")
		}
	}
	go io.Copy(io.Discard, pr)
	if s.demoKey == "" {
		t.Fatalf("no demo key printed")
	}
	return s, stop
}

func get(t *testing.T, url, header, value string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestQuickStart is the README's quick start: no key → 401 JSON, the demo key → 200 with the
// echo showing x-portcullis-key-id, the admin API answering the printed admin token.
func TestQuickStart(t *testing.T) {
	data := t.TempDir()
	s, _ := launch(t, data, nil)
	if !strings.HasPrefix(s.demoKey, "pcs_") || !strings.HasPrefix(s.adminToken, "pca_") {
		t.Fatalf("printed %+v", s)
	}
	status, body := get(t, s.gateway+"/anything", "", "")
	if status != http.StatusUnauthorized || body["code"] != "missing_credentials" {
		t.Fatalf("no key: %d %v", status, body)
	}
	status, body = get(t, s.gateway+"/anything", "x-api-key", s.demoKey)
	headers, _ := body["headers"].(map[string]any)
	if status != http.StatusOK || headers["x-portcullis-key-id"] == nil || headers["x-api-key"] != nil {
		t.Fatalf("demo key: %d %v", status, body)
	}
	if status, _ = get(t, s.api+"/v1/keys", "authorization", "Bearer "+s.adminToken); status != http.StatusOK {
		t.Fatalf("admin API with the printed token: %d", status)
	}
	info, err := os.Stat(filepath.Join(data, "admin-token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", info, err)
	}
}

// TestRestartKeepsTokenAndDemoKey: a second start on the same data reuses the admin token
// without printing it again, and reuses the demo key, so listings do not fill with revoked
// demo keys. A demo key revoked meanwhile is replaced by a new one.
func TestRestartKeepsTokenAndDemoKey(t *testing.T) {
	data := t.TempDir()
	first, stop := launch(t, data, nil)
	stop()
	second, stop := launch(t, data, nil)
	if second.adminToken != "" || strings.Contains(strings.Join(second.lines, "\n"), first.adminToken) {
		t.Fatalf("the second start printed the admin token: %q", second.lines)
	}
	if second.demoKey != first.demoKey {
		t.Fatalf("the demo key changed across starts")
	}
	if status, _ := get(t, second.gateway+"/anything", "x-api-key", second.demoKey); status != http.StatusOK {
		t.Fatalf("the kept demo key: %d, want 200", status)
	}
	api := &stack.Client{BaseURL: second.api, Token: first.adminToken}
	countDemoKeys := func() (active, revoked int) {
		keys, err := api.Keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Name == demoKeyName && k.RevokedAt == nil {
				active++
			} else if k.Name == demoKeyName {
				revoked++
			}
		}
		return active, revoked
	}
	if a, r := countDemoKeys(); a != 1 || r != 0 {
		t.Fatalf("after two starts: %d active and %d revoked demo keys, want 1 and 0", a, r)
	}
	keys, _ := api.Keys(context.Background())
	for _, k := range keys {
		if k.Name == demoKeyName {
			if err := api.RevokeKey(context.Background(), k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop()
	third, _ := launch(t, data, nil)
	api.BaseURL = third.api
	if third.demoKey == first.demoKey {
		t.Fatal("a revoked demo key was reused")
	}
	if status, _ := get(t, third.gateway+"/anything", "x-api-key", third.demoKey); status != http.StatusOK {
		t.Fatalf("the new demo key: %d, want 200", status)
	}
	if a, r := countDemoKeys(); a != 1 || r != 1 {
		t.Fatalf("after the revocation: %d active and %d revoked demo keys, want 1 and 1", a, r)
	}
}

// TestAdminTokenFromEnvironment: PORTCULLIS_ADMIN_TOKEN wins and nothing is written.
func TestAdminTokenFromEnvironment(t *testing.T) {
	data := t.TempDir()
	const token = "pca_chosen_by_the_operator_0001"
	s, _ := launch(t, data, map[string]string{"PORTCULLIS_ADMIN_TOKEN": token})
	if s.adminToken != "" {
		t.Fatalf("printed an admin token the operator chose")
	}
	if _, err := os.Stat(filepath.Join(data, "admin-token")); err == nil {
		t.Fatalf("wrote a token file")
	}
	if status, _ := get(t, s.api+"/v1/keys", "authorization", "Bearer "+token); status != http.StatusOK {
		t.Fatalf("admin API with the environment's token: %d", status)
	}
}

// TestDataFilesOwnerOnly: an admin token file an earlier run (or a copy) left readable by others
// is made owner-only, and a data directory others can write is refused before anything is
// written to it.
func TestDataFilesOwnerOnly(t *testing.T) {
	data := t.TempDir()
	token := filepath.Join(data, "admin-token")
	if err := os.WriteFile(token, []byte("pca_an_earlier_runs_admin_token_0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(token, 0o644)
	s, stop := launch(t, data, nil)
	stop()
	if s.adminToken != "" {
		t.Fatalf("printed the kept admin token %q", s.adminToken)
	}

	for _, name := range []string{"admin-token", "portcullis.db"} {
		if fi, err := os.Stat(filepath.Join(data, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", name, fi.Mode(), err)
		}
	}

	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o777)
	args := []string{"-module", buildout.Path("portcullis.wasm"), "-data", filepath.Join(shared, "portcullis.db"),
		"-control", "127.0.0.1:0", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-workers", "1", "-log-level", "error"}
	err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("run on a world-writable data directory: %v", err)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Fatalf("wrote %d files into the refused directory", len(entries))
	}
}

// TestParseTimeouts: the gateway's client timeouts default to the documented values and can
// be changed, never switched off.
func TestParseTimeouts(t *testing.T) {
	tests := []struct {
		args    []string
		want    gateway.Timeouts
		wantErr bool
	}{
		{nil, gateway.Timeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Idle: 2 * time.Minute}, false},
		{[]string{"-read-timeout", "5s", "-read-header-timeout", "1s", "-idle-timeout", "30s"}, gateway.Timeouts{ReadHeader: time.Second, Read: 5 * time.Second, Idle: 30 * time.Second}, false},
		{[]string{"-read-timeout", "0"}, gateway.Timeouts{}, true},
		{[]string{"-idle-timeout", "-1s"}, gateway.Timeouts{}, true},
	}
	for _, tt := range tests {
		c, err := parse(tt.args, func(string) string { return "" }, io.Discard)
		if tt.wantErr != (err != nil) || !tt.wantErr && c.timeouts != tt.want {
			t.Errorf("%q: %+v, %v", tt.args, c.timeouts, err)
		}
	}
}

// TestSecondRunOnBusyPort: a second make run beside a running one fails on the busy port
// without breaking the first: the first's filter keeps receiving policy, so revoking its demo
// key is enforced, and so is the key created next. (The polls held open when the token was
// rotated still carried the first change; the ones after it were refused.)
func TestSecondRunOnBusyPort(t *testing.T) {
	data := t.TempDir()
	first, _ := launch(t, data, nil)
	args := []string{"-module", buildout.Path("portcullis.wasm"), "-data", filepath.Join(data, "portcullis.db"),
		"-control", "127.0.0.1:0", "-listen", strings.TrimPrefix(first.gateway, "http://"), "-admin", "127.0.0.1:0",
		"-workers", "1", "-log-level", "error"}
	err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second run: %v", err)
	}

	api := &stack.Client{BaseURL: first.api, Token: first.adminToken}
	keys, err := api.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == demoKeyName && k.RevokedAt == nil {
			if err := api.RevokeKey(context.Background(), k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitStatus(t, first.gateway, first.demoKey, http.StatusUnauthorized)
	k, _, err := api.CreateKey(context.Background(), stack.NewKey{Name: "after the second run"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, first.gateway, k.Key, http.StatusOK)
}

// waitStatus waits until the gateway answers GET /anything with key want on both VMs (four
// times in a row), for up to 5 seconds.
func waitStatus(t *testing.T, gateway, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for run := 0; run < 4; {
		status, _ := get(t, gateway+"/anything", "x-api-key", key)
		switch {
		case status == want:
			run++
		case time.Now().After(deadline):
			t.Fatalf("key %.8s…: %d, want %d: the running gateway no longer receives policy", key, status, want)
		default:
			run = 0
			time.Sleep(10 * time.Millisecond)
		}
	}
}
