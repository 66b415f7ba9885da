package wasmhost_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestJWTScenarios runs the whole JWT table, boundary cases included, against the compiled
// filter in this host with the filter's wall clock fixed at the table's instant. The jku and
// x5u cases point at a live server here: the filter must never call it (it fetches no keys).
func TestJWTScenarios(t *testing.T) {
	trap := scenario.NewKeyTrap()
	defer trap.Close()
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig,
		Clock: wasmhost.NewFakeClock(scenario.FixedNow), Clusters: map[string]string{"jwks": trap.Base()}})
	for _, c := range scenario.JWTCases(scenario.FixedNow, trap.URL()) {
		t.Run(c.Name, func(t *testing.T) {
			for round := range 2 {
				if problems := c.Check(runScenario(h, &c.Req)); len(problems) > 0 {
					t.Fatalf("round %d: %s", round, strings.Join(problems, "\n"))
				}
			}
		})
	}
	if n := trap.Calls(); n != 0 {
		t.Fatalf("the filter called the jku/x5u server %d times", n)
	}
}
