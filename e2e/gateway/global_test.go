package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/ratelimit"
	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// Global rate limits: two gateways (two Envoy instances, each with its own VMs and shared
// data) count one limit in one Redis through the rate-limit service, exactly.

func globalConfig(failureMode string) []byte {
	return []byte(`{"policy": {"version": 1, "routes": [
	  {"name": "g", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
	   "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 10, "global": true, "failure_mode": "` + failureMode + `"}]}]},
	 "ratelimit": {"cluster": "portcullis_ratelimit", "timeout_ms": 2000}}`)
}

var gt0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// ratelimitService starts the service on the test Redis with a fixed clock and a key prefix
// of its own. Redis must be running (bash .ci/services.sh): the test fails, never skips.
func ratelimitService(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("PORTCULLIS_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb, err := ratelimit.Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("%v (start it with: bash .ci/services.sh)", err)
	}
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	rand.Read(b[:])
	srv := httptest.NewServer(ratelimit.Handler(ratelimit.Config{Redis: rdb, Now: func() time.Time { return gt0 }, Prefix: "portcullis-test:" + hex.EncodeToString(b[:]) + ":"}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func globalGateway(t *testing.T, cluster string, cfg []byte) *env {
	return start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: cfg, Clock: wasmhost.NewFakeClock(gt0),
		Clusters: map[string]string{"portcullis_ratelimit": cluster}}, gateway.Echo(), gateway.Config{})
}

func getAs(t *testing.T, base, client string) (int, http.Header) {
	req, _ := http.NewRequest("GET", base+"/x", nil)
	req.Header.Set("x-client", client)
	resp := do(t, req)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestTwoGatewaysShareOneGlobalLimit(t *testing.T) {
	svc := ratelimitService(t)
	a, b := globalGateway(t, svc, globalConfig("allow")), globalGateway(t, svc, globalConfig("allow"))
	// 40 requests of one client, in parallel, half through each gateway: exactly the burst of
	// 10 passes in total (each gateway's local bucket alone would pass 10 each).
	var mu sync.Mutex
	passed := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base, name := a.url, "a"
			if i%2 == 1 {
				base, name = b.url, "b"
			}
			st, h := getAs(t, base, "c")
			mu.Lock()
			defer mu.Unlock()
			switch st {
			case 200:
				passed[name]++
			case 429:
				if h.Get("retry-after") != "3600" {
					t.Errorf("retry-after %q", h.Get("retry-after"))
				}
			default:
				t.Errorf("status %d", st)
			}
		}()
	}
	wg.Wait()
	if passed["a"]+passed["b"] != 10 {
		t.Fatalf("passed %v, want exactly 10 in total", passed)
	}
	// Another client has its own global bucket.
	if st, _ := getAs(t, b.url, "other"); st != 200 {
		t.Fatal("another client refused")
	}
	// The global refusals gave back the local tokens: gateway a still admits locally what
	// the global count allows (here nothing for c, something for a new client).
	if st, _ := getAs(t, a.url, "new"); st != 200 {
		t.Fatal("a new client refused on gateway a")
	}
	for _, e := range []*env{a, b} {
		if m, _ := e.host.Metric("portcullis_ratelimit_global_calls_total"); m.Value == 0 {
			t.Fatal("no global calls counted")
		}
	}
}

// When the service cannot be reached, the limit's failure mode decides, each with its metric.
func TestGlobalFailureModes(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	open := globalGateway(t, deadURL, globalConfig("allow"))
	closed := globalGateway(t, deadURL, globalConfig("deny"))
	if st, _ := getAs(t, open.url, "c"); st != 200 {
		t.Fatalf("failure mode allow: %d", st)
	}
	st, h := getAs(t, closed.url, "c")
	if st != 503 || h.Get("retry-after") != "1" {
		t.Fatalf("failure mode deny: %d %v", st, h)
	}
	for _, c := range []struct {
		e       *env
		outcome string
	}{{open, "allowed"}, {closed, "denied"}} {
		if n := c.e.host.Sum("portcullis_ratelimit_global_failures_total", "outcome", c.outcome); n != 1 {
			t.Fatalf("portcullis_ratelimit_global_failures_total{outcome=%q} = %d", c.outcome, n)
		}
	}
	// The local bucket stays the first line while the service is down: 10 locally, then 429.
	for i := 0; i < 9; i++ {
		getAs(t, open.url, "c")
	}
	if st, _ := getAs(t, open.url, "c"); st != 429 {
		t.Fatalf("local bucket not enforced while the service is down: %d", st)
	}
}
