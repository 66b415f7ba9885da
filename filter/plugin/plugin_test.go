package plugin

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// send plays one scenario request through the emulator the way Envoy would.
func send(host proxytest.HostEmulator, req *scenario.Request) (scenario.Outcome, types.Action) {
	return scenario.RunEmulated(host, req)
}

func TestScenarios(t *testing.T) {
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, status := l.start(t, scenario.PluginConfig)
			if status != types.OnPluginStartStatusOK {
				t.Fatalf("plugin start failed: %v", host.GetCriticalLogs())
			}
			for i := range scenario.Cases {
				c := &scenario.Cases[i]
				t.Run(c.Name, func(t *testing.T) {
					o, action := send(host, &c.Req)
					for _, p := range c.Check(o) {
						t.Error(p)
					}
					if o.Status != 0 && action != types.ActionPause {
						t.Errorf("a local reply must be followed by ActionPause, got %v", action)
					}
				})
			}
		})
	}
}

func TestMetricsCountDecisions(t *testing.T) {
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, _ := l.start(t, scenario.PluginConfig)
			reqs := []scenario.Request{
				{Method: "GET", Authority: "x", Path: "/healthz"},
				{Method: "GET", Authority: "x", Path: "/healthz"},
				{Method: "GET", Authority: "api.example.com", Path: "/v1/a"},
				{Method: "GET", Authority: "x", Path: "/../x"},
				{Method: "OPTIONS", Authority: "app.example.com", Path: "/items", Headers: [][2]string{
					{"origin", "https://web.example.com"}, {"access-control-request-method", "GET"}}},
			}
			for i := range reqs {
				send(host, &reqs[i])
			}
			for name, want := range map[string]uint64{
				"portcullis_requests_allowed":                    2,
				"portcullis_requests_denied_missing_credentials": 1,
				"portcullis_requests_denied_invalid_path":        1,
				"portcullis_requests_denied_invalid_credentials": 0,
				"portcullis_requests_answered":                   1, // the CORS preflight
			} {
				got, err := host.GetCounterMetric(name)
				if err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", name, got, err, want)
				}
			}
		})
	}
}

// A denial is logged once, without the credential or the query string.
func TestDenialLogHasNoSecrets(t *testing.T) {
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, _ := l.start(t, scenario.PluginConfig)
			send(host, &scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x?token=s3cr3t",
				Headers: [][2]string{{"x-api-key", scenario.KeyUnknown}}})
			logs := strings.Join(host.GetInfoLogs(), "\n")
			if !strings.Contains(logs, "deny status=401 code=invalid_credentials route=api method=GET path=/v1/x") {
				t.Errorf("no denial log line in %q", logs)
			}
			for _, secret := range []string{scenario.KeyUnknown, "s3cr3t"} {
				if strings.Contains(logs, secret) {
					t.Errorf("log contains a secret %q", secret)
				}
			}
		})
	}
}

func TestBadConfigurationFailsStart(t *testing.T) {
	tests := []struct {
		name, config, log string
	}{
		{"empty", ``, "plugin configuration is empty"},
		{"not json", `{"policy":`, "invalid JSON"},
		{"unknown field", `{"policy":{"version":1},"extra":1}`, "extra: unknown field"},
		{"invalid policy", `{"policy":{"version":1,"routes":[{"name":"r","auth":{"type":"api_key"},"limits":{"max_body_bytes":0}}]}}`,
			"policy.routes[0].limits.max_body_bytes: must be positive"},
		{"global limit without a rate-limit service", `{"policy":{"version":1,"routes":[{"name":"r","auth":{"type":"none"},
			"rate_limits":[{"by":"ip","rate":1,"per":"second","global":true}]}]}}`, `has no "ratelimit" section`},
		{"rate-limit service without a cluster", `{"policy":{"version":1},"ratelimit":{"domain":"d"}}`, "ratelimit.cluster: required"},
	}
	for _, l := range bothLegs {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				host, status := l.start(t, []byte(tt.config))
				if status != types.OnPluginStartStatusFailed {
					t.Fatal("plugin started with a bad configuration")
				}
				logs := host.GetCriticalLogs()
				if len(logs) != 1 || !strings.Contains(logs[0], tt.log) {
					t.Fatalf("critical logs = %q, want one containing %q", logs, tt.log)
				}
			})
		}
	}
}
