package plugin

import (
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
)

// BenchmarkRequest measures one request through the filter under the SDK's emulator, natively
// and as the compiled module under wazero, for the allow and deny paths. Both legs share the
// emulator's overhead, so the ratio wasm/native is the cost of running compiled to Wasm.
func BenchmarkRequest(b *testing.B) {
	requests := []struct {
		name string
		req  scenario.Request
	}{
		{"allow", scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/builds/42",
			Headers: [][2]string{{"x-api-key", scenario.KeyFull}, {"user-agent", "bench"}, {"accept", "*/*"}}}},
		{"deny-missing-key", scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/builds/42",
			Headers: [][2]string{{"user-agent", "bench"}, {"accept", "*/*"}}}},
		{"deny-unknown-key", scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/builds/42",
			Headers: [][2]string{{"x-api-key", scenario.KeyUnknown}, {"user-agent", "bench"}, {"accept", "*/*"}}}},
	}
	for _, l := range bothLegs {
		for _, r := range requests {
			b.Run(l.name+"/"+r.name, func(b *testing.B) {
				host, _ := l.start(b, scenario.PluginConfig)
				b.ReportAllocs()
				for b.Loop() {
					send(host, &r.req)
				}
			})
		}
	}
}
