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
			// Labels travel in the stat name (Envoy's stats_tags turn them into labels):
			// reason from the denial table, route from the policy, _none before a match.
			for name, want := range map[string]uint64{
				"portcullis_requests_allowed_total.route.health":                        2,
				"portcullis_requests_denied_total.reason.missing_credentials.route.api": 1,
				"portcullis_requests_denied_total.reason.invalid_path.route._none":      1,
				"portcullis_requests_answered_total.route.app":                          1, // the CORS preflight
				"portcullis_requests_denied_total.reason.invalid_credentials.route.api": 0, // never defined
			} {
				got, err := host.GetCounterMetric(name)
				if want == 0 {
					if err == nil {
						t.Errorf("%s is defined (%d) before any such denial", name, got)
					}
					continue
				}
				if err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", name, got, err, want)
				}
			}
		})
	}
}

// A denial is logged once, as key=value pairs: the request id (the x-request-id Envoy sets,
// else one the filter makes up), the key id when a key was recognised, never the credential
// or the query string; request data cannot forge fields.
func TestDenialLog(t *testing.T) {
	tests := []struct {
		name    string
		req     scenario.Request
		want    []string
		secrets []string
	}{
		{"unknown key, request id from Envoy",
			scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x?token=s3cr3t",
				Headers: [][2]string{{"x-api-key", scenario.KeyUnknown}, {"x-request-id", "req-42"}}},
			[]string{`portcullis: deny status=401 code=invalid_credentials route=api key_id="" request_id=req-42 method=GET path=/v1/x`},
			[]string{scenario.KeyUnknown, "s3cr3t"}},
		{"known key refused a path, no request id",
			scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/users",
				Headers: [][2]string{{"x-api-key", scenario.KeyBuilds}}},
			[]string{`portcullis: deny status=403 code=path_not_allowed route=api key_id=k-builds request_id=pc-`},
			[]string{scenario.KeyBuilds}},
		{"a request id cannot forge fields",
			scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x",
				Headers: [][2]string{{"x-request-id", "r1 code=allowed\nx"}}},
			[]string{`request_id="r1 code=allowed\nx" method=GET`},
			nil},
		{"no route matched",
			scenario.Request{Method: "POST", Authority: "x", Path: "/healthz", Headers: [][2]string{{"x-request-id", "r2"}}},
			[]string{`code=no_route route=_none key_id="" request_id=r2`},
			nil},
	}
	for _, l := range bothLegs {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				host, _ := l.start(t, scenario.PluginConfig)
				send(host, &tt.req)
				var lines []string
				for _, line := range host.GetInfoLogs() {
					if strings.Contains(line, "portcullis: deny") {
						lines = append(lines, line)
					}
				}
				if len(lines) != 1 {
					t.Fatalf("want one denial line, got %q", lines)
				}
				for _, want := range tt.want {
					if !strings.Contains(lines[0], want) {
						t.Errorf("denial line %q lacks %q", lines[0], want)
					}
				}
				for _, secret := range tt.secrets {
					if strings.Contains(lines[0], secret) {
						t.Errorf("log contains a secret %q", secret)
					}
				}
			})
		}
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
