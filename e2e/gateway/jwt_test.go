package gateway_test

import (
	"strings"
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
	trap := scenario.NewKeyTrap()
	defer trap.Close()
	e := start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig,
		Clock: wasmhost.NewFakeClock(scenario.FixedNow), Clusters: map[string]string{"jwks": trap.Base()}}, headersUpstream, gateway.Config{})
	boundary := 0
	for _, c := range scenario.JWTCases(scenario.FixedNow, trap.URL()) {
		if c.FixedClock {
			boundary++
		}
		t.Run(c.Name, func(t *testing.T) {
			for round := range 2 {
				resp := do(t, newRequest(t, e.url, &c.Req, nil))
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
	if n := trap.Calls(); n != 0 {
		t.Fatalf("the filter called the jku/x5u server %d times", n)
	}
}
