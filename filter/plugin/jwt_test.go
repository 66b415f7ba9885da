package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
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

// jwtLeg is a leg of the JWT table: pinned legs fix the filter's clock at the table's
// instant and run every case; the production module under the SDK's emulator has a clock of
// its own (see clock) and runs every case but those on an exact time boundary.
type jwtLeg struct {
	leg
	pinned bool
}

// TestJWTScenarios runs the JWT table through the filter natively and as the compiled .wasm
// under the SDK's emulator. The boundary cases (exp equal to now, the leeway's edges) run on
// the native leg and on the test-hook module, both with the clock pinned; the production
// module runs the rest with tokens made for its clock. Each case runs twice: the second is a
// cache hit in the VM.
func TestJWTScenarios(t *testing.T) {
	for _, l := range []jwtLeg{{nativeLeg, true}, {hooksLeg, true}, {wasmLeg, false}} {
		t.Run(l.name, func(t *testing.T) {
			var (
				host   proxytest.HostEmulator
				status types.OnPluginStartStatus
				now    = l.clock()
			)
			if l.pinned {
				now = scenario.FixedNow
				host, status = l.startAt(t, scenario.PluginConfig, now)
			} else {
				host, status = l.start(t, scenario.PluginConfig)
			}
			if status != types.OnPluginStartStatusOK {
				t.Fatalf("plugin start failed: %v", host.GetCriticalLogs())
			}
			ran, boundary := 0, 0
			for _, c := range scenario.JWTCases(now, "") {
				if c.FixedClock {
					if !l.pinned {
						continue
					}
					boundary++
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
			if ran < 50 || l.pinned && boundary < 8 {
				t.Fatalf("only %d cases ran, %d of them on a time boundary", ran, boundary)
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

// The production module has no clock hook: a VM configuration naming an instant changes
// nothing, so a token made for that instant is judged on the module's own clock.
func TestProductionModuleIgnoresAPinnedClock(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithVMContext(wasmLeg.vm(t)).WithPluginConfiguration(scenario.PluginConfig).
		WithVMConfiguration([]byte(scenario.FixedNow.Format(time.RFC3339Nano)))
	host, status := wasmLeg.run(t, opt)
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed: %v", host.GetCriticalLogs())
	}
	tok := scenario.Token(scenario.FixedNow, "ES256", "a", "j")
	o, _ := send(host, &scenario.Request{Method: "GET", Authority: scenario.JWTHost, Path: "/x", Headers: [][2]string{{"authorization", "Bearer " + tok}}})
	if o.Status != 401 || !strings.Contains(string(o.Body), `"code":"token_not_yet_valid"`) {
		t.Fatalf("status %d %s, want 401 token_not_yet_valid (the module's clock is not the pinned one)", o.Status, o.Body)
	}
}
