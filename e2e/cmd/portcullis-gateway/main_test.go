package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(config) bool
		wantErr string
	}{
		{"defaults", []string{"-demo"}, nil, func(c config) bool {
			return c.module == "build/portcullis.wasm" && c.listen == ":8080" && c.admin == ":9901" && c.workers == 0 && c.demo &&
				c.timeouts == gateway.Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Idle: 2 * time.Minute} &&
				c.maxPolicyAge == 90*time.Second
		}, ""},
		{"max policy age", []string{"-demo"}, map[string]string{"PORTCULLIS_MAX_POLICY_AGE": "45s"},
			func(c config) bool { return c.maxPolicyAge == 45*time.Second }, ""},
		{"timeouts", []string{"-demo", "-read-timeout", "5s", "-idle-timeout", "1m"}, map[string]string{"PORTCULLIS_READ_HEADER_TIMEOUT": "2s", "PORTCULLIS_READ_TIMEOUT": "9s"},
			func(c config) bool {
				return c.timeouts == gateway.Timeouts{ReadHeader: 2 * time.Second, Read: 5 * time.Second, Idle: time.Minute}
			}, ""},
		{"zero timeout", []string{"-demo", "-read-timeout", "0s"}, nil, nil, "read-timeout: 0s must be positive"},
		{"bad timeout", []string{"-demo", "-idle-timeout", "soon"}, nil, nil, `idle-timeout: "soon" is not a duration`},
		{"environment", nil, map[string]string{"PORTCULLIS_UPSTREAM": "http://u", "PORTCULLIS_WORKERS": "3", "PORTCULLIS_CLUSTERS": "a=http://x, b=http://y"},
			func(c config) bool {
				return c.upstream == "http://u" && c.workers == 3 && c.clusters["a"] == "http://x" && c.clusters["b"] == "http://y"
			}, ""},
		{"flags win over the environment", []string{"-workers", "2", "-listen", "127.0.0.1:1"}, map[string]string{"PORTCULLIS_WORKERS": "3", "PORTCULLIS_UPSTREAM": "http://u"},
			func(c config) bool { return c.workers == 2 && c.listen == "127.0.0.1:1" }, ""},
		{"demo from the environment", nil, map[string]string{"PORTCULLIS_DEMO": "1"}, func(c config) bool { return c.demo }, ""},
		{"no upstream", nil, nil, nil, "no upstream"},
		{"bad cluster", []string{"-demo", "-clusters", "a"}, nil, nil, `"a" is not name=url`},
		{"duplicate cluster", []string{"-demo", "-clusters", "a=http://x,a=http://y"}, nil, nil, "defined twice"},
		{"bad workers", []string{"-demo", "-workers", "-1"}, nil, nil, "not a count"},
		{"demo with a config", []string{"-demo", "-config", "x.json"}, nil, nil, "drop -config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.args, envOf(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("config %+v, error %v", c, err)
			}
		})
	}
}

func modulePath(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "build", "portcullis.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (run make wasm-test-modules)", err)
	}
	return path
}

// startDemo runs the command in demo mode on loopback ports with one worker and returns the
// lines it printed ("gateway", "demo key", "admin") and a stop that shuts it down and returns
// run's error.
func startDemo(t *testing.T, stderr io.Writer, args ...string) (lines map[string]string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-demo", "-workers", "1", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0",
			"-module", modulePath(t)}, args...), noEnv, pw, stderr)
		pw.Close()
	}()
	lines = map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(lines) < 3 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		lines[k] = v
	}
	go io.Copy(io.Discard, pr)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return lines, stop
}

// TestDemo starts the command in demo mode and uses it like the README says: no key is 401,
// the printed key reaches the echo upstream with the key's identity.
func TestDemo(t *testing.T) {
	lines, stop := startDemo(t, io.Discard, "-log-level", "error")
	gw, _, _ := strings.Cut(lines["gateway"], " ")
	key := lines["demo key"]
	if gw == "" || !strings.HasPrefix(key, "pcs_") {
		t.Fatalf("output %q", lines)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	send := func(headers ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", gw+"/anything?x=1", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := send()
	if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"code":"missing_credentials"`) {
		t.Fatalf("without a key: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = send("X-API-Key", key)
	var echo struct {
		Path    string
		Query   string
		Headers map[string]string
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &echo) != nil {
		t.Fatalf("with the demo key: %d %s", resp.StatusCode, body)
	}
	if echo.Path != "/anything" || echo.Query != "x=1" || echo.Headers["x-portcullis-key-id"] != "demo" || echo.Headers["x-portcullis-key-name"] != "demo key" {
		t.Fatalf("the upstream saw %+v", echo)
	}
	if resp, body = send("X-API-Key", key+"x"); resp.StatusCode != 401 {
		t.Fatalf("with a wrong key: %d %s", resp.StatusCode, body)
	}

	metrics, err := client.Get(strings.TrimSuffix(lines["admin"], "/metrics") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	// Denials are counted when they are decided, before the reply goes out, so these are exact.
	if !strings.Contains(string(m), `portcullis_requests_denied_total{reason="missing_credentials",route="all"} 1`+"\n") ||
		!strings.Contains(string(m), `portcullis_requests_denied_total{reason="invalid_credentials",route="all"} 1`+"\n") {
		t.Fatalf("metrics:\n%s", m)
	}

	ready, err := client.Get(strings.TrimSuffix(lines["admin"], "/metrics") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != 200 { // an inline policy, nothing to refresh
		t.Fatalf("/readyz: %d", ready.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
