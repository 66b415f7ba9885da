package wasmhost_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestScenarios runs the shared scenario table against the compiled Portcullis filter in this
// host: the same decisions as the engine natively and the filter under the SDK emulator.
func TestScenarios(t *testing.T) {
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig})
	for i := range scenario.Cases {
		c := &scenario.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			if problems := c.Check(runScenario(h, &c.Req)); len(problems) > 0 {
				t.Fatal(strings.Join(problems, "\n"))
			}
		})
	}
}

func runScenario(h *wasmhost.Host, req *scenario.Request) scenario.Outcome {
	source := req.Source
	if source == "" {
		source = scenario.DefaultSource
	}
	s := h.NewStream(wasmhost.StreamInfo{Source: netip.MustParseAddrPort(source)})
	defer s.Done()
	chunks := req.Chunks()
	r := s.RequestHeaders(req.HeaderPairs(), len(chunks) == 0)
	upstream := r.Headers
	for i, chunk := range chunks {
		if r.Action == wasmhost.LocalResponse {
			break
		}
		r = s.RequestBody(chunk, i == len(chunks)-1)
		if r.Headers != nil {
			upstream = r.Headers
		}
	}
	if r.Action == wasmhost.LocalResponse {
		return scenario.Outcome{Status: r.Local.Status, Body: r.Local.Body, Headers: r.Local.Headers}
	}
	var regular [][2]string
	for _, kv := range upstream {
		if !strings.HasPrefix(kv[0], ":") {
			regular = append(regular, kv)
		}
	}
	resp := s.ResponseHeaders(append([][2]string{{":status", "200"}}, scenario.UpstreamResponse...), true)
	var response [][2]string
	for _, kv := range resp.Headers {
		if !strings.HasPrefix(kv[0], ":") {
			response = append(response, kv)
		}
	}
	return scenario.Outcome{Upstream: regular, Response: response}
}
