package v8host_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/v8host"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// probe is a request to the host probe (testdata/hostprobe), which acts on its x-probe header.
func probe(action string, extra ...[2]string) [][2]string {
	h := [][2]string{{":method", "GET"}, {":path", "/p?q=1"}, {":authority", "example.com"}, {":scheme", "http"}}
	if action != "" {
		h = append(h, [2]string{"x-probe", action})
	}
	return append(h, extra...)
}

// probeBufferLimit is small so that the overflow cases need little data; big is over half of it.
const probeBufferLimit = 64 << 10

var big = bytes.Repeat([]byte("b"), probeBufferLimit/2+1)

var chunks = func(parts ...string) [][]byte {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		out[i] = []byte(p)
	}
	return out
}

// probeExchanges drive the host calls the Portcullis filter does not make today (header map
// reads and edits of every kind, buffered bodies and body replacement, response callbacks,
// properties, shared-data cas rules, queues, foreign functions, http_call refusal, logs, the
// clock) and end with a trap, after which the VM must answer 503.
var probeExchanges = []v8host.Exchange{
	{Name: "plain request and response", Request: probe(""), Response: upstreamReply, ResponseBody: upstreamBody},
	{Name: "header reads and edits", Request: probe("headers",
		[2]string{"x-dup", "a"}, [2]string{"X-Dup", "b"}, [2]string{"x-remove", "1"}, [2]string{"x-replace", "old"}, [2]string{"x-replace", "older"}),
		Response: upstreamReply},
	{Name: "local reply through the response callbacks", Request: probe("local")},
	{Name: "shared data cas rules", Request: probe("cas", [2]string{"x-probe-key", "k1"})},
	{Name: "shared counter 1", Request: probe("count")},
	{Name: "shared counter 2", Request: probe("count")},
	{Name: "properties", Info: v8host.StreamInfo{Source: "10.0.0.1:5555", Destination: "[::1]:8080", Protocol: "HTTP/2", ConnectionID: 7},
		Request: probe("props", [2]string{"x-request-id", "req-1"}, [2]string{"user-agent", "ua"}, [2]string{"x-dup", "a"}, [2]string{"x-dup", "b"})},
	{Name: "buffered request body replaced", Request: probe("buffer"), RequestBody: chunks("ab", "cd", "ef"), Response: upstreamReply},
	{Name: "streamed request body", Request: probe("", [2]string{"content-length", "6"}), RequestBody: chunks("abc", "def"),
		Response: upstreamReply, ResponseBody: upstreamBody},
	{Name: "buffered response body", Request: probe("respbuffer"), Response: upstreamReply, ResponseBody: chunks("o", "k", "!")},
	{Name: "held response", Request: probe("resphold"), Response: upstreamReply, ResponseBody: upstreamBody},
	{Name: "held request", Request: probe("hold"), RequestBody: chunks("x", "y")},
	{Name: "queue", Request: probe("queue"), Response: upstreamReply},
	{Name: "foreign functions", Request: probe("foreign")},
	{Name: "http_call to an unknown cluster", Request: probe("call", [2]string{"x-probe-cluster", "nowhere"})},
	{Name: "logs", Request: probe("log")},
	{Name: "clock", Request: probe("now")},
	{Name: "request body over the buffer limit", Request: probe("buffer"), RequestBody: [][]byte{big, big}},
	{Name: "held response over the buffer limit", Request: probe("resphold"), Response: upstreamReply, ResponseBody: [][]byte{big, big}},
	{Name: "buffered response over the limit after its headers", Request: probe("respbuffer"), Response: upstreamReply, ResponseBody: [][]byte{big, big}},
	{Name: "trap", Request: probe("panic")},
	{Name: "after the trap", Request: probe(""), Response: upstreamReply},
}

// TestHostProbe runs the host probe on V8 and on wazero and requires the same outcomes and
// metrics: the JavaScript host's calls behave like the wazero host's beyond what the Portcullis
// filter happens to use, and a Go panic traps V8 the way it traps wazero.
func TestHostProbe(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	cfg := v8host.Config{Module: modulePath(t, "hostprobe.wasm"), PluginName: "probe-plugin", RootID: "probe-root", VMID: "probe-vm", Clock: now,
		BufferLimit: probeBufferLimit}
	wait := startV8(t, cfg, probeExchanges)
	wz := newWazero(t, "hostprobe.wasm", wasmhost.Options{PluginName: cfg.PluginName, RootID: cfg.RootID, VMID: cfg.VMID,
		Clock: wasmhost.NewFakeClock(now), BufferLimit: probeBufferLimit})
	want := runWazero(wz, probeExchanges)
	v8 := wait()

	for i, ex := range probeExchanges {
		got := v8.Outcomes[i]
		t.Run(ex.Name, func(t *testing.T) {
			if d := diff(got, want[i]); d != "" {
				t.Fatalf("V8 and wazero disagree:\n%s\nV8 log: %s", d, strings.Join(got.Logs, " | "))
			}
			if e, ok := probeEnds[ex.Name]; ok && end(got) != e {
				t.Fatalf("the exchange ended with %q, want %q", end(got), e)
			}
		})
	}
	t.Run("metrics", func(t *testing.T) {
		if d := diffMetrics(v8.Metrics, wz.Metrics()); d != "" {
			t.Fatalf("metrics differ:\n%s", d)
		}
	})
	// The probe's own assertions would be vacuous if the trap never happened on V8.
	if v8.VMFailed == "" || !wz.VMs()[0].Failed {
		t.Errorf("the probe's panic must fail the VM on both hosts: V8 %q, wazero failed %v", v8.VMFailed, wz.VMs()[0].Failed)
	}
}

// probeEnds are the endings the host produces itself (Envoy's, not the filter's), which the
// comparison alone would let pass if neither host produced them.
var probeEnds = map[string]string{
	"request body over the buffer limit":                 "413 request_payload_too_large",
	"held response over the buffer limit":                "500 response_payload_too_large",
	"buffered response over the limit after its headers": "reset: response body above the buffer limit after the response started",
	"trap":           "503 wasm_fail_stream",
	"after the trap": "503 wasm_fail_stream",
}

func end(o v8host.Outcome) string {
	switch {
	case o.Local != nil:
		return fmt.Sprintf("%d %s", o.Local.Status, o.Local.Details)
	case o.Reset != "":
		return "reset: " + o.Reset
	}
	return "through"
}
