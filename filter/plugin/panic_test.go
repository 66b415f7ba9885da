package plugin

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
)

const panicHeader = "x-portcullis-test-panic"

// A panic inside a callback becomes a 500 for that request only; the VM keeps serving. The
// native leg injects the panic through panicHook; the Wasm leg loads the test-hook build.
func TestPanicIsRecovered(t *testing.T) {
	for _, l := range []leg{nativeLeg, hooksLeg} {
		t.Run(l.name, func(t *testing.T) {
			if l.module == "" {
				old := panicHook
				panicHook = func(h [][2]string) {
					for _, kv := range h {
						if kv[0] == panicHeader {
							panic("injected")
						}
					}
				}
				t.Cleanup(func() { panicHook = old })
			}
			host, _ := l.start(t, scenario.PluginConfig)
			o, _ := send(host, &scenario.Request{Method: "GET", Authority: "x", Path: "/healthz", Headers: [][2]string{{panicHeader, "1"}}})
			if o.Status != 500 || !strings.Contains(string(o.Body), `"code":"internal_error"`) {
				t.Fatalf("panic reply = %d %s, want 500 internal_error", o.Status, o.Body)
			}
			if logs := host.GetCriticalLogs(); len(logs) != 1 || !strings.Contains(logs[0], "recovered from a panic") {
				t.Fatalf("critical logs = %q", logs)
			}
			// The same VM goes on serving.
			if o, _ := send(host, &scenario.Request{Method: "GET", Authority: "x", Path: "/healthz"}); o.Status != 0 {
				t.Fatalf("after the panic: status %d %s, want the request allowed", o.Status, o.Body)
			}
			if n, _ := host.GetCounterMetric("portcullis_requests_denied_total.reason.internal_error.route._none"); n != 1 {
				t.Fatalf("internal_error counter = %d, want 1", n)
			}
		})
	}
}

// The production module has no panic hook: the header is just a spoofed x-portcullis-* header.
func TestProductionModuleHasNoPanicHook(t *testing.T) {
	host, _ := wasmLeg.start(t, scenario.PluginConfig)
	o, _ := send(host, &scenario.Request{Method: "GET", Authority: "x", Path: "/healthz", Headers: [][2]string{{panicHeader, "1"}}})
	if o.Status != 0 {
		t.Fatalf("status %d %s, want the request allowed", o.Status, o.Body)
	}
	for _, kv := range o.Upstream {
		if kv[0] == panicHeader {
			t.Fatal("the reserved header reached the upstream")
		}
	}
}
