package engine_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
)

// BenchmarkDecide is the engine alone, natively: the floor under every host.
func BenchmarkDecide(b *testing.B) {
	e := compile(b, scenario.Policy)
	now := time.Now()
	base := [][2]string{{":method", "GET"}, {":authority", "api.example.com"}, {":path", "/v1/builds/42"}, {"user-agent", "bench"}, {"accept", "*/*"}}
	for _, tc := range []struct {
		name  string
		extra [][2]string
	}{
		{"allow", [][2]string{{"x-api-key", scenario.KeyFull}}},
		{"deny-missing-key", nil},
		{"deny-unknown-key", [][2]string{{"x-api-key", scenario.KeyUnknown}}},
	} {
		req := &engine.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/builds/42", Headers: append(base, tc.extra...), Now: now}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(req)
			}
		})
	}
}
