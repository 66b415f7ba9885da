package wasmhost_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// webhookBenchConfig has a GitHub-verified route and a plain route with the same body limit,
// so the difference between the two is the verification (buffering, one copy into the VM, the
// HMAC).
var webhookBenchConfig = []byte(`{"policy": {"version": 1,
  "webhooks": [{"name": "gh", "preset": "github", "secret": "` + webhookBenchSecret + `"}],
  "routes": [
    {"name": "hooks", "match": {"path_prefix": "/hooks"}, "auth": {"type": "webhook", "webhook": "gh"}, "limits": {"max_body_bytes": 2097152}},
    {"name": "plain", "match": {"path_prefix": "/plain"}, "auth": {"type": "none"}, "limits": {"max_body_bytes": 2097152}}]}}`)

const webhookBenchSecret = "bench-webhook-secret-0001"

// BenchmarkWebhook is one delivery per iteration through the host on one VM: headers, the body
// in one chunk, end of stream — verified on the hooks route, only counted on the plain route,
// ignored by the empty filter, and HMACed bare by the probe filter (the same copy into the VM
// and the same HMAC, nothing else). Compare also with shared/engine's BenchmarkWebhookVerify bare-hmac
// under wazero (make bench-wasm): the same HMAC over the same bytes in a Wasm VM.
func BenchmarkWebhook(b *testing.B) {
	sizes := []struct {
		name string
		size int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}
	for _, s := range sizes {
		body := make([]byte, s.size)
		for i := range body {
			body[i] = byte('a' + i%26)
		}
		m := hmac.New(sha256.New, []byte(webhookBenchSecret))
		m.Write(body)
		sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
		for _, c := range []struct{ name, module, path string }{
			{"floor-noop", "noop.wasm", "/hooks/github"},
			// The bare HMAC in the same host: the probe filter buffers the body, copies it
			// into its VM once and HMACs it, nothing else.
			{"bare-hmac-probe", "hostprobe.wasm", "/hooks/github"},
			{"portcullis-plain", "portcullis.wasm", "/plain/in"},
			{"portcullis-verify", "portcullis.wasm", "/hooks/github"},
		} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				headers := [][2]string{{":method", "POST"}, {":path", c.path}, {":authority", "hooks.example.com"}, {":scheme", "https"},
					{"content-type", "application/json"}, {"content-length", strconv.Itoa(s.size)}, {"x-github-event", "push"}, {"x-hub-signature-256", sig}}
				if c.module == "hostprobe.wasm" {
					headers = append(headers, [2]string{"x-probe", "hmac"})
				}
				benchDeliveries(b, c.module, headers, body)
			})
		}
	}
}

// benchDeliveries times one delivery per iteration, after a warm-up bounded by bytes (a 1 MiB
// body 20,000 times would take minutes), reporting process CPU time per delivery (cpu-ns/op),
// the number to prefer on a shared machine.
func benchDeliveries(b *testing.B, module string, headers [][2]string, body []byte) {
	h := newHost(b, module, wasmhost.Options{Workers: 1, PluginConfig: webhookBenchConfig, BufferLimit: 4 << 20})
	run := func() {
		s := h.NewStream(wasmhost.StreamInfo{Source: benchSource})
		r := s.RequestHeaders(headers, false)
		if r.Action != wasmhost.LocalResponse {
			r = s.RequestBody(body, true)
		}
		s.Done()
		if r.Action != wasmhost.Continue || !r.EndOfStream || len(r.Body) != len(body) && module == "portcullis.wasm" {
			b.Fatalf("delivery not passed whole: action %v, %d of %d bytes, local %+v", r.Action, len(r.Body), len(body), r.Local)
		}
	}
	warmup := min(benchWarmup, max(32, (32<<20)/len(body)))
	for range warmup {
		run()
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(h.VMs()[0].MemoryBytes), "vm-mem-bytes")
}
