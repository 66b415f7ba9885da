package gateway_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestReadyWithoutPolicy: a filter configured to poll a control server it cannot reach, with
// no inline policy, is alive but not ready — its workers have no policy — and once the bound
// has passed, its policy age says so too. Its log says why, without the token.
func TestReadyWithoutPolicy(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	clock := wasmhost.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	config := `{"control": {"cluster": "control", "token": "pcd_the_secret_token_000000", "public_key": "` +
		base64.StdEncoding.EncodeToString(pub) + `", "wait_seconds": 5}}`
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // connection refused from now on
	e := start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: []byte(config), Clock: clock,
		Clusters: map[string]string{"control": dead.URL}}, gateway.Echo(), gateway.Config{})
	admin := httptest.NewServer(gateway.Admin(e.host, gateway.PolicyFresh(30*time.Second)))
	defer admin.Close()
	fetch := func(path string) (int, string) {
		resp, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := fetch("/readyz"); code != 503 || body != "not ready: 2 filter workers have no policy yet (their requests get 503 policy_unavailable)\n" {
		t.Fatalf("/readyz at start: %d %q", code, body)
	}
	if code, _ := fetch("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d, want 200 (alive)", code)
	}
	for range 31 * 5 { // 31 s of ticks
		clock.Advance(200 * time.Millisecond)
	}
	age, _ := e.host.Metric("portcullis_policy_age_seconds")
	if age.Value != 31 {
		t.Fatalf("policy age %d, want 31 (since the start)", age.Value)
	}
	// The first failure is logged as it arrives; nothing else waits on it.
	deadline := time.Now().Add(5 * time.Second)
	// The host answers a connection failure as Envoy's router does, 503 with a reason, or 504
	// when the clock passed the poll's timeout first (this test moves it faster than the
	// refusal arrives); either way the line says the poll failed and why.
	for !logged(e.logs, "cannot refresh the policy: the poll was answered with status 50") {
		if time.Now().After(deadline) {
			for _, r := range e.logs.records {
				t.Log(r.Level, r.Message)
			}
			t.Fatal("no error line for the failed polls")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if logged(e.logs, "pcd_the_secret_token") {
		t.Fatal("the token was logged")
	}
}

func logged(l *logs, s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if strings.Contains(r.Message, s) {
			return true
		}
	}
	return false
}

// TestNotReadyWhenStale: a control server that answers but never with a valid freshness
// statement (an old server, or whoever answers the poll replaying a 304) leaves the policy
// unconfirmed; past the freshness window the compiled module reports it stale, /readyz says
// so, and the policy is still enforced.
func TestNotReadyWhenStale(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	clock := wasmhost.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	config := `{"policy": {"version": 1, "routes": [{"name": "all", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]},
	 "control": {"cluster": "control", "token": "pcd_the_secret_token_000000", "public_key": "` +
		base64.StdEncoding.EncodeToString(pub) + `", "wait_seconds": 5, "freshness_window_seconds": 30}}`
	unsigned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) }))
	defer unsigned.Close()
	e := start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: []byte(config), Clock: clock,
		Clusters: map[string]string{"control": unsigned.URL}}, gateway.Echo(), gateway.Config{})
	admin := httptest.NewServer(gateway.Admin(e.host, gateway.PolicyFresh(time.Hour)))
	defer admin.Close()
	ready := func() (int, string) {
		resp, err := http.Get(admin.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := ready(); code != 200 {
		t.Fatalf("/readyz at start: %d %q", code, body)
	}
	for range 31 * 5 { // 31 s of ticks, every poll answered with an unsigned 304
		clock.Advance(200 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := ready()
		if code == 503 && strings.Contains(body, "the policy in force is stale") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after 31 s without a valid statement: %d %q", code, body)
		}
		clock.Advance(200 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(e.url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a request without a key under the stale policy: %d, want 401 (enforced, never open)", resp.StatusCode)
	}
}
