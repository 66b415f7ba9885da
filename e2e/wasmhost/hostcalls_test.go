package wasmhost_test

import (
	"maps"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestRequestHostCalls pins the env host calls one request makes through each filter, the
// per-request benchmark's request (BenchmarkRequest): every call is a trip out of the VM and
// back, so a change that adds one to the allow path shows here and has to say why.
func TestRequestHostCalls(t *testing.T) {
	for _, tc := range []struct {
		name, module string
		config       []byte
		headers      [][2]string
		want         map[string]int
	}{
		{"empty filter", "noop.wasm", nil, benchAPI(scenario.KeyFull), map[string]int{}},
		// Read the headers once; hide the key (remove); set the key's three identity headers
		// (one replace each); count the allowed request.
		{"portcullis allow", "portcullis.wasm", scenario.PluginConfig, benchAPI(scenario.KeyFull), map[string]int{
			"proxy_get_header_map_pairs": 1, "proxy_remove_header_map_value": 1, "proxy_replace_header_map_value": 3,
			"proxy_increment_metric": 1,
		}},
		// Read the headers once; the 401; its counter; the denial's log line.
		{"portcullis deny (unknown key)", "portcullis.wasm", scenario.PluginConfig, benchAPI(scenario.KeyUnknown), map[string]int{
			"proxy_get_header_map_pairs": 1, "proxy_send_local_response": 1, "proxy_increment_metric": 1, "proxy_log": 1,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			counting := false
			got := map[string]int{}
			h := newHost(t, tc.module, wasmhost.Options{Workers: 1, PluginConfig: tc.config, HostCall: func(_ int, name string) {
				mu.Lock()
				defer mu.Unlock()
				if counting {
					got[name]++
				}
			}})
			run := func() {
				s := h.NewStream(wasmhost.StreamInfo{Source: benchSource})
				if r := s.RequestHeaders(tc.headers, true); r.Action == wasmhost.Continue {
					s.ResponseHeaders([][2]string{{":status", "200"}, {"content-type", "text/plain"}}, false)
					s.ResponseBody(make([]byte, 4096), true)
				}
				s.Done()
			}
			run() // the first request may set up state (metrics, caches)
			mu.Lock()
			counting = true
			mu.Unlock()
			run()
			mu.Lock()
			defer mu.Unlock()
			if !maps.Equal(got, tc.want) {
				t.Errorf("host calls per request:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
