package wasmhost_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// benchLimitConfig is one api-key route (the scenario's api route shape) with the given rate
// limits: a rate no benchmark exhausts, so every request takes the allow path.
func benchLimitConfig(limits string) []byte {
	sum := sha256.Sum256([]byte(scenario.KeyFull))
	return []byte(`{"policy": {"version": 1, "routes": [{"name": "api", "match": {"hosts": ["api.example.com"], "path_prefix": "/v1"},
	  "auth": {"type": "api_key"}, "hide_credentials": true` + limits + `}],
	  "keys": [{"id": "k-full", "name": "Full Access", "sha256": "` + hex.EncodeToString(sum[:]) + `"}]}}`)
}

const (
	oneKeyLimit    = `, "rate_limits": [{"by": "api_key", "rate": 1000000, "per": "second", "burst": 1000000}]`
	oneHeaderLimit = `, "rate_limits": [{"by": "header:x-client", "rate": 1000000, "per": "second", "burst": 1000000}]`
)

// BenchmarkRateLimitRequest is the cost of one local limit (shared-data read and
// compare-and-swap write, the RateLimit headers on the response) over the allow path, per
// request on one VM, in the same run.
func BenchmarkRateLimitRequest(b *testing.B) {
	for _, c := range []struct{ name, limits string }{
		{"allow-no-limit", ""},
		{"allow-one-limit", oneKeyLimit},
	} {
		b.Run(c.name, func(b *testing.B) {
			got := benchRequests(b, "portcullis.wasm", benchLimitConfig(c.limits), requestSpec{Headers: benchAPI(scenario.KeyFull), Response: true, ResponseBody: make([]byte, 4096)})
			if got != wasmhost.Continue {
				b.Fatalf("action %v", got)
			}
		})
	}
}

// BenchmarkRateLimitContention runs 4 VMs with 4 goroutines: every request on one bucket
// (every write contends with the other VMs' on one shared-data entry), or each goroutine on
// a bucket of its own. It reports the refusals for lack of compare-and-swap retries (none
// expected: 8 attempts).
func BenchmarkRateLimitContention(b *testing.B) {
	for _, c := range []struct {
		name     string
		distinct bool
	}{{"one-key", false}, {"distinct-keys", true}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHost(b, "portcullis.wasm", wasmhost.Options{Workers: 4, PluginConfig: benchLimitConfig(oneHeaderLimit)})
			var next atomic.Int64
			b.SetParallelism(2) // GOMAXPROCS (2 here) × 2: 4 goroutines on the 4 VMs
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				client := "shared"
				if c.distinct {
					client = "client-" + strconv.FormatInt(next.Add(1), 10)
				}
				headers := append(benchAPI(scenario.KeyFull), [2]string{"x-client", client})
				for pb.Next() {
					s := h.NewStream(wasmhost.StreamInfo{})
					if r := s.RequestHeaders(headers, true); r.Action != wasmhost.Continue {
						b.Errorf("refused: %v", r.Action)
					}
					s.Done()
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(metricValue(b, h, "portcullis_ratelimit_contended_total")), "contended")
		})
	}
}
