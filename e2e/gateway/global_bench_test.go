package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// BenchmarkGlobalLimit is the latency a global limit adds per request: the same limit local
// only and global (an http_call from the filter to the rate-limit service, which runs one Lua
// script in Redis), one request at a time through the gateway on loopback, in the same run.
func BenchmarkGlobalLimit(b *testing.B) {
	for _, c := range []struct {
		name   string
		global string
	}{{"local-only", "false"}, {"global", "true"}} {
		b.Run(c.name, func(b *testing.B) {
			svc := ratelimitService(b)
			cfg := []byte(`{"policy": {"version": 1, "routes": [{"name": "g", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
			  "rate_limits": [{"by": "header:x-client", "rate": 1000000, "per": "second", "burst": 1000000, "global": ` + c.global + `}]}]},
			 "ratelimit": {"cluster": "portcullis_ratelimit", "timeout_ms": 2000}}`)
			e := start(b, "portcullis.wasm", wasmhost.Options{Workers: 1, PluginConfig: cfg, Clusters: map[string]string{"portcullis_ratelimit": svc}},
				gateway.Echo(), gateway.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			req, _ := http.NewRequest("GET", e.url+"/x", nil)
			req.Header.Set("x-client", "c")
			b.ResetTimer()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
