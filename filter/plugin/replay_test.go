package plugin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// The filter records verified deliveries in shared data (sharedReplay) on both legs: the same
// delivery again is refused as replayed, a new one passes. Replay across two worker VMs is
// e2e/wasmhost's TestReplayAcrossWorkers (the SDK emulator runs one VM). GitHub signs no
// timestamp, so the Wasm leg's emulated clock does not matter here.
func TestReplayThroughSharedData(t *testing.T) {
	const secret = "replay-test-secret-0001"
	config := []byte(`{"policy": {"version": 1,
	  "webhooks": [{"name": "pay", "preset": "github", "secret": "` + secret + `",
	    "tolerance_seconds": 600, "replay_protection": true}],
	  "routes": [{"name": "pay", "match": {"path_prefix": "/hooks/pay"}, "auth": {"type": "webhook", "webhook": "pay"}}]}}`)
	delivery := func(body string) scenario.Request {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return scenario.Request{Method: "POST", Authority: "hooks.example.com", Path: "/hooks/pay", Body: []byte(body), BodyChunks: 3,
			Headers: [][2]string{{"x-hub-signature-256", "sha256=" + hex.EncodeToString(m.Sum(nil))}}}
	}
	for _, l := range bothLegs {
		t.Run(l.name, func(t *testing.T) {
			host, status := l.start(t, config)
			if status != types.OnPluginStartStatusOK {
				t.Fatalf("plugin start failed: %v", host.GetCriticalLogs())
			}
			first, second := delivery(`{"id":"evt_1"}`), delivery(`{"id":"evt_2"}`)
			for i, step := range []struct {
				req    scenario.Request
				status int
				code   string
			}{{first, 0, ""}, {first, 401, "replayed"}, {second, 0, ""}, {second, 401, "replayed"}} {
				o, _ := send(host, &step.req)
				if o.Status != step.status || (step.code != "" && !strings.Contains(string(o.Body), `"code":"`+step.code+`"`)) {
					t.Fatalf("step %d: %d %s, want %d %s", i, o.Status, o.Body, step.status, step.code)
				}
			}
			if got, err := host.GetCounterMetric("portcullis_requests_denied_total.reason.replayed.route.pay"); err != nil || got != 2 {
				t.Fatalf("replayed counter %d (%v), want 2", got, err)
			}
		})
	}
}
