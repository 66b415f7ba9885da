package plugin

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// clock is the wall clock the leg's filter sees: the real one natively; wazero's fake clock for
// a module under the SDK's emulator (it starts at 2022-01-01T00:00:00Z and moves 1 ms per
// reading, and the emulator does not replace it), so tokens are made for that instant.
func (l leg) clock() time.Time {
	if l.module == "" {
		return time.Now()
	}
	return time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
}

// TestJWTScenarios runs the JWT table through the filter natively and as the compiled .wasm
// under the SDK's emulator, with tokens made for the leg's clock. The cases on an exact time
// boundary need a clock that does not move; they run where it is fixed (the engine's tests and
// the .wasm under e2e/wasmhost with a fake clock). Each case runs twice: the second is a cache
// hit in the VM.
func TestJWTScenarios(t *testing.T) {
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, status := l.start(t, scenario.PluginConfig)
			if status != types.OnPluginStartStatusOK {
				t.Fatalf("plugin start failed: %v", host.GetCriticalLogs())
			}
			ran := 0
			for _, c := range scenario.JWTCases(l.clock(), "") {
				if c.FixedClock {
					continue
				}
				ran++
				t.Run(c.Name, func(t *testing.T) {
					for round := range 2 {
						o, action := send(host, &c.Req)
						for _, p := range c.Check(o) {
							t.Errorf("round %d: %s", round, p)
						}
						if o.Status != 0 && action != types.ActionPause {
							t.Errorf("a local reply must be followed by ActionPause, got %v", action)
						}
					}
				})
			}
			if ran < 50 {
				t.Fatalf("only %d cases ran", ran)
			}
		})
	}
}

// Every refusal reason is its own metric, so an operator sees why tokens fail.
func TestJWTReasonMetrics(t *testing.T) {
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, _ := l.start(t, scenario.PluginConfig)
			now := l.clock()
			reqs := []scenario.Request{
				{Method: "GET", Authority: scenario.JWTHost, Path: "/x", Headers: [][2]string{{"authorization", "Bearer " + scenario.Token(now, "ES256", "a", scenario.RevokedJTI)}}},
				{Method: "GET", Authority: scenario.JWTHost, Path: "/x", Headers: [][2]string{{"authorization", "Bearer " + scenario.Token(now.Add(-3*time.Hour), "ES256", "a", "j")}}},
				{Method: "GET", Authority: scenario.JWTHost, Path: "/x", Headers: [][2]string{{"authorization", "Bearer " + scenario.Token(now, "ES256", "a", "j")}}},
			}
			for i := range reqs {
				send(host, &reqs[i])
			}
			for name, want := range map[string]uint64{
				"portcullis_requests_denied_total.reason.token_revoked.route.jwt": 1,
				"portcullis_requests_denied_total.reason.token_expired.route.jwt": 1,
				"portcullis_requests_allowed_total.route.jwt":                     1,
			} {
				if got, err := host.GetCounterMetric(name); err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", name, got, err, want)
				}
			}
		})
	}
}
