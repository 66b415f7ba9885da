package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/stack"
)

// workers is the VM count of every test stack: more than the machine's cores, so updates and
// requests interleave across VMs.
const workers = 4

// stores are the control server's two stores; every control-plane scenario runs on both.
// PostgreSQL must be running (`bash .ci/services.sh` starts it); it is never skipped.
var stores = []struct {
	name string
	cfg  func(t testing.TB) server.Config
}{
	{"sqlite", func(t testing.TB) server.Config {
		return server.Config{DataPath: filepath.Join(t.TempDir(), "portcullis.db")}
	}},
	{"postgres", func(t testing.TB) server.Config {
		return server.Config{DatabaseURL: pgtest.DSN(t), MasterKeyFile: filepath.Join(t.TempDir(), "master-key")}
	}},
}

func TestMain(m *testing.M) { buildout.Main(m) }

// filterModule is the production module; a missing module fails the test, never skips it.
func filterModule(t testing.TB) []byte { return buildout.Module(t, "portcullis.wasm") }

// env is one running stack and an admin client for it.
type env struct {
	*stack.Stack
	api *stack.Client
}

// start runs a stack on the store's config with fast polls; edit adjusts the config first.
func start(t testing.TB, control server.Config, edit func(*stack.Config)) env {
	t.Helper()
	token, err := auth.NewSecret(rand.Reader, auth.AdminPrefix)
	if err != nil {
		t.Fatal(err)
	}
	control.AdminToken = token
	control.InitialPolicy = []byte(`{"version": 1, "routes": [
		{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`)
	cfg := stack.Config{
		Module:              filterModule(t),
		Control:             control,
		Workers:             workers,
		PollInterval:        50 * time.Millisecond,
		CompilationCacheDir: buildout.CacheDir(),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := stack.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the stack: %v", err)
		}
	})
	return env{Stack: s, api: &stack.Client{BaseURL: s.ControlURL(), Token: token}}
}

// createKey creates a key through the admin API and returns it raw.
func (e env) createKey(t testing.TB, name string) stack.CreatedKey {
	t.Helper()
	k, _, err := e.api.CreateKey(context.Background(), stack.NewKey{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var client = &http.Client{Timeout: 5 * time.Second}

// get sends GET /anything through the gateway with the key (none if empty) and returns the
// status.
func (e env) get(t testing.TB, key string) int {
	t.Helper()
	return e.getPath(t, "/anything", key)
}

// getPath is get for another path.
func (e env) getPath(t testing.TB, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.GatewayURL()+path, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// settle is how many answers in a row count as "every VM answers this": the gateway spreads
// requests over the VMs round-robin, so 2×workers covers each VM twice.
const settle = 2 * workers

// waitStatus sends GET /anything with key until settle answers in a row are want, and returns
// how long that took from since. It fails the test after limit.
func (e env) waitStatus(t testing.TB, key string, want int, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	return e.waitPathStatus(t, "/anything", key, want, since, limit)
}

// waitPathStatus is waitStatus for GET path.
func (e env) waitPathStatus(t testing.TB, path, key string, want int, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	run, last := 0, 0
	for run < settle {
		if time.Since(since) > limit {
			t.Fatalf("GET %s with key %.8s…: answer %d, want %d on every VM, still after %v", path, key, last, want, limit)
		}
		if last = e.getPath(t, path, key); last == want {
			run++
		} else {
			run = 0
			time.Sleep(2 * time.Millisecond)
		}
	}
	return time.Since(since)
}

// expectSteady checks that settle requests in a row all answer want.
func (e env) expectSteady(t testing.TB, key string, want int) {
	t.Helper()
	for range settle {
		if got := e.get(t, key); got != want {
			t.Fatalf("key %.8s…: answer %d, want %d", key, got, want)
		}
	}
}

// metric reads one of the filter's metrics from the host.
func (e env) metric(name string) int64 {
	m, _ := e.Host().Metric(name)
	return m.Value
}

// waitMetric waits until the metric reaches at least n.
func (e env) waitMetric(t testing.TB, name string, n int64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for e.metric(name) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %d, want at least %d after %v", name, e.metric(name), n, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PluginConfigToken is the data-plane token the filter polls with.
func (e env) PluginConfigToken(t testing.TB) string {
	t.Helper()
	cfg, err := e.PluginConfig()
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Control struct{ Token string } }
	if err := json.Unmarshal(cfg, &c); err != nil || c.Control.Token == "" {
		t.Fatalf("plugin configuration: %v", err)
	}
	return c.Control.Token
}
