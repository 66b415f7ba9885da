package v8host_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/v8host"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// upstreamReply is what the upstream answers to every request the filter lets through: the
// table's upstream response headers and a body in two chunks, so the response callbacks run on
// both hosts too.
var (
	upstreamReply = append([][2]string{{":status", "200"}}, scenario.UpstreamResponse...)
	upstreamBody  = [][]byte{[]byte("o"), []byte("k")}
)

// exchange is a scenario case as the hosts receive it.
func exchange(c *scenario.Case) v8host.Exchange {
	source := c.Req.Source
	if source == "" {
		source = scenario.DefaultSource
	}
	return v8host.Exchange{
		Name: c.Name, Info: v8host.StreamInfo{Source: source},
		Request: c.Req.HeaderPairs(), RequestBody: c.Req.Chunks(),
		Response: upstreamReply, ResponseBody: upstreamBody,
	}
}

// TestScenarios runs the shared scenario table through the compiled filter on V8 (Node.js),
// the engine Envoy runs Wasm on, once with each of V8's two Wasm compilers: every case must
// meet the table's expectations AND produce exactly what the wazero host produces for it — the
// request the upstream gets (headers in order, body), the response the client gets, the local
// reply (status, headers, body, details), resets — and the metrics must agree at the end. The
// table is serialized case by case, so a new case runs here with no change to the JavaScript
// host.
func TestScenarios(t *testing.T) {
	t.Parallel()
	cases := make([]*scenario.Case, len(scenario.Cases))
	for i := range scenario.Cases {
		cases[i] = &scenario.Cases[i]
	}
	runTable(t, cases, time.Now())
}

// TestJWTScenarios runs the JWT table the same way, boundary cases included: both hosts freeze
// the filter's wall clock at the table's instant. Each case is sent twice, the second a cache
// hit in the VM.
func TestJWTScenarios(t *testing.T) {
	t.Parallel()
	var cases []*scenario.Case
	boundary := 0
	for _, c := range scenario.JWTCases(scenario.FixedNow, "") {
		if c.FixedClock {
			boundary++
		}
		again := c.Case
		again.Name += " (again: a cache hit)"
		cases = append(cases, &c.Case, &again)
	}
	if boundary < 8 {
		t.Fatalf("only %d boundary cases", boundary)
	}
	runTable(t, cases, scenario.FixedNow)
}

// runTable sends the cases, in order, through the filter on V8 with each compiler and on the
// wazero host, the filter's clock frozen at now on both, and holds every outcome against the
// case and against wazero's.
func runTable(t *testing.T, cases []*scenario.Case, now time.Time) {
	exchanges := make([]v8host.Exchange, len(cases))
	for i, c := range cases {
		exchanges[i] = exchange(c)
	}
	compilers := []v8host.Compiler{v8host.Liftoff, v8host.TurboFan}
	waits := make([]func() *v8host.Result, len(compilers))
	for i, c := range compilers {
		cfg := v8host.Config{Module: modulePath(t, "portcullis.wasm"), PluginConfig: scenario.PluginConfig, Clock: now, Compiler: c}
		waits[i] = startV8(t, cfg, exchanges)
	}
	wz := newWazero(t, "portcullis.wasm", wasmhost.Options{PluginConfig: scenario.PluginConfig, Clock: wasmhost.NewFakeClock(now)})
	// Every case runs on both hosts before any comparison, so a filtered run (-run) still gives
	// both hosts the same history.
	want := runWazero(wz, exchanges)
	wzMetrics := wz.Metrics()

	for i, c := range compilers {
		v8 := waits[i]()
		t.Run(c.String(), func(t *testing.T) {
			for i, sc := range cases {
				got := v8.Outcomes[i]
				t.Run(sc.Name, func(t *testing.T) {
					var problems []string
					for _, p := range sc.Check(asScenario(got)) {
						problems = append(problems, "on V8: "+p)
					}
					if d := diff(got, want[i]); d != "" {
						problems = append(problems, "V8 and wazero disagree:\n"+d)
					}
					if len(problems) > 0 {
						t.Fatalf("%s\nV8 log: %s", strings.Join(problems, "\n"), strings.Join(got.Logs, " | "))
					}
				})
			}
			t.Run("metrics", func(t *testing.T) {
				if d := diffMetrics(v8.Metrics, wzMetrics); d != "" {
					t.Fatalf("metrics differ:\n%s", d)
				}
			})
			if v8.VMFailed != "" {
				t.Errorf("the V8 VM failed: %s", v8.VMFailed)
			}
		})
	}
}

// asScenario is what the scenario table checks: the local reply, or the headers the upstream
// got and those the client got back.
func asScenario(o v8host.Outcome) scenario.Outcome {
	if l := o.Local; l != nil {
		return scenario.Outcome{Status: l.Status, Body: l.Body, Headers: l.Headers}
	}
	out := scenario.Outcome{Upstream: regular(o.Request.Headers)}
	if o.Response != nil {
		out.Response = regular(o.Response.Headers)
	}
	return out
}

func regular(headers [][2]string) [][2]string {
	var out [][2]string
	for _, kv := range headers {
		if !strings.HasPrefix(kv[0], ":") {
			out = append(out, kv)
		}
	}
	return out
}

// TestRejectedConfiguration: the plugin configuration reaches the filter in proxy_on_configure,
// and a filter that rejects it does not start on V8 either.
func TestRejectedConfiguration(t *testing.T) {
	node, err := v8host.FindNode()
	if err != nil {
		t.Fatalf("the V8 leg cannot run: %v", err)
	}
	_, err = v8host.Run(t.Context(), v8host.Config{Node: node, Module: modulePath(t, "portcullis.wasm"), PluginConfig: []byte(`{}`)}, nil)
	if err == nil || !strings.Contains(err.Error(), "rejected the plugin configuration") {
		t.Fatalf("err = %v, want the plugin configuration rejected", err)
	}
}
