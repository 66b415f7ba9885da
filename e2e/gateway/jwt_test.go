package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestJWTScenarios runs the whole JWT table through the gateway with a real HTTP client,
// boundary cases included: the filter's wall clock is the host's fake clock, fixed at the
// table's instant. Each case is sent twice (the second is a cache hit in the VM that served
// it). The jku and x5u cases point at a live server that the filter must never call.
func TestJWTScenarios(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	e := start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig,
		Clock: wasmhost.NewFakeClock(scenario.FixedNow), Clusters: map[string]string{"jwks": srv.URL}}, headersUpstream, gateway.Config{})
	boundary := 0
	for _, c := range scenario.JWTCases(scenario.FixedNow, srv.URL+"/jwks") {
		if c.FixedClock {
			boundary++
		}
		t.Run(c.Name, func(t *testing.T) {
			for round := range 2 {
				req, err := http.NewRequest(c.Req.Method, e.url+c.Req.Path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = c.Req.Authority
				for _, kv := range c.Req.Headers {
					req.Header.Add(kv[0], kv[1])
				}
				resp := do(t, req)
				o := outcome(t, resp)
				resp.Body.Close()
				if problems := c.Check(o); len(problems) > 0 {
					t.Fatalf("round %d: %s", round, strings.Join(problems, "\n"))
				}
			}
		})
	}
	if boundary < 8 {
		t.Fatalf("only %d boundary cases ran", boundary)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the filter called the jku/x5u server %d times", n)
	}
}
