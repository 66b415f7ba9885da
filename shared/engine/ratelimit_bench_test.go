package engine_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
)

// benchLimitPolicy is the scenario's api route shape with and without one local limit (a rate
// no benchmark exhausts), for the cost of one limit over the allow path.
func benchLimitPolicy(limits string) string {
	return `{"version": 1, "routes": [{"name": "api", "match": {"hosts": ["api.example.com"], "path_prefix": "/v1"},
	  "auth": {"type": "api_key"}, "hide_credentials": true` + limits + `}],
	  "keys": [{"id": "k-full", "name": "Full Access", "sha256": "` + sha(scenario.KeyFull) + `"}]}`
}

const benchOneLimit = `, "rate_limits": [{"by": "api_key", "rate": 1000000, "per": "second", "burst": 1000000}]`

// BenchmarkRateLimit is the engine natively (and, with make bench-wasm, compiled to wasip1
// under wazero) with its in-memory counter store: the allow path without a limit, with one,
// and with two stacked limits.
func BenchmarkRateLimit(b *testing.B) {
	headers := [][2]string{{":method", "GET"}, {":authority", "api.example.com"}, {":path", "/v1/builds/42"}, {"user-agent", "bench"}, {"x-api-key", scenario.KeyFull}}
	for _, tc := range []struct {
		name, limits string
		scratch      bool // the caller keeps the LimitResult (Request.Limits), as the filter does
	}{
		{"allow-no-limit", "", false},
		{"allow-one-limit", benchOneLimit, false},
		{"allow-one-limit-caller-result", benchOneLimit, true},
		{"allow-two-limits", `, "rate_limits": [{"by": "api_key", "rate": 1000000, "per": "second", "burst": 1000000}, {"by": "route", "rate": 1000000, "per": "second", "burst": 1000000}]`, false},
	} {
		e := compile(b, benchLimitPolicy(tc.limits))
		store := engine.NewMemoryCounters()
		b.Run(tc.name, func(b *testing.B) {
			now := time.Now()
			var res *engine.LimitResult
			if tc.scratch {
				res = new(engine.LimitResult)
			}
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				if d := e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/builds/42", Headers: headers, Now: now, Counters: store, Limits: res}); !d.Allow {
					b.Fatal(d.Code)
				}
			}
		})
	}
}
