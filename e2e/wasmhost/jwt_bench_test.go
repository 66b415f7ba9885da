package wasmhost_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// jwtRequest is benchAPI's request on the JWT route with tok as Bearer.
func jwtRequest(tok string) [][2]string {
	return [][2]string{
		{":method", "GET"}, {":path", "/v1/builds?page=2"}, {":authority", scenario.JWTHost}, {":scheme", "https"},
		{"user-agent", "bench/1.0"}, {"accept", "*/*"}, {"x-request-id", "0123456789abcdef"}, {"authorization", "Bearer " + tok},
	}
}

// BenchmarkJWTRequest is one request per iteration through the host, as BenchmarkRequest
// (same warm-up, same response), on the floor, the API-key allow path, a JWT cache hit (one
// token over and over) and a cache miss: the request cycles through more distinct tokens than
// the cache holds, so every token has been evicted again before it comes back.
func BenchmarkJWTRequest(b *testing.B) {
	now := time.Now()
	hit := scenario.Token(now, "ES256", "alice", "j-hit", `"scope":"builds:read"`)
	spec := requestSpec{Response: true, ResponseBody: make([]byte, 4096)}
	b.Run("floor-noop", func(b *testing.B) {
		spec := spec
		spec.Headers = jwtRequest(hit)
		benchRequests(b, "noop.wasm", nil, spec)
	})
	b.Run("api-key-allow", func(b *testing.B) {
		spec := spec
		spec.Headers = benchAPI(scenario.KeyFull)
		if benchRequests(b, "portcullis.wasm", scenario.PluginConfig, spec) != wasmhost.Continue {
			b.Fatal("not allowed")
		}
	})
	b.Run("jwt-hit", func(b *testing.B) {
		spec := spec
		spec.Headers = jwtRequest(hit)
		if benchRequests(b, "portcullis.wasm", scenario.PluginConfig, spec) != wasmhost.Continue {
			b.Fatal("not allowed")
		}
	})
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		b.Run("jwt-miss-"+alg, func(b *testing.B) {
			const distinct = 2*2048 + 1 // twice the cache, so FIFO eviction makes every request a miss
			toks := make([][][2]string, distinct)
			for i := range toks {
				toks[i] = jwtRequest(scenario.Token(now, alg, "alice", fmt.Sprintf("j-%d", i)))
			}
			h := newHost(b, "portcullis.wasm", wasmhost.Options{Workers: 1, PluginConfig: scenario.PluginConfig})
			i := 0
			run := func() wasmhost.Action {
				s := h.NewStream(wasmhost.StreamInfo{})
				r := s.RequestHeaders(toks[i%distinct], true)
				i++
				if r.Action == wasmhost.Continue {
					r = s.ResponseHeaders([][2]string{{":status", "200"}, {"content-type", "text/plain"}}, false)
					r = s.ResponseBody(spec.ResponseBody, true)
				}
				s.Done()
				return r.Action
			}
			for range distinct { // warm-up: one full cycle (fills the cache, grows the heap)
				if run() != wasmhost.Continue {
					b.Fatal("not allowed")
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if run() != wasmhost.Continue {
					b.Fatal("not allowed")
				}
			}
		})
	}
}
