package engine_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

// webhookBenchSizes are the body sizes of BENCHMARKS.md's webhook table.
var webhookBenchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

// BenchmarkWebhookVerify compares verifying a GitHub-signed delivery (Decide, then DecideBody
// over the whole body) with a bare HMAC-SHA256 over the same bytes, in the same process: run
// natively and, by make bench-wasm, inside a Wasm VM under wazero. The verify/bare ratio is
// what the engine adds to the unavoidable hash; B/op shows it never copies the body.
func BenchmarkWebhookVerify(b *testing.B) {
	const secret = "bench-webhook-secret-0001"
	e := compile(b, `{"version":1,"webhooks":[{"name":"gh","preset":"github","secret":"`+secret+`"}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"gh"},
		"limits":{"max_body_bytes":2097152}}]}`)
	key := []byte(secret)
	for _, s := range webhookBenchSizes {
		body := make([]byte, s.size)
		for i := range body {
			body[i] = byte('a' + i%26)
		}
		m := hmac.New(sha256.New, key)
		m.Write(body)
		req := &engine.Request{Method: "POST", Authority: "hooks.example.com", Path: "/hooks/github", Now: time.Now(),
			Headers: [][2]string{{"content-type", "application/json"}, {"content-length", strconv.Itoa(s.size)},
				{"x-github-event", "push"}, {"x-hub-signature-256", "sha256=" + hex.EncodeToString(m.Sum(nil))}}}
		b.Run(s.name+"/bare-hmac", func(b *testing.B) {
			b.SetBytes(int64(s.size))
			b.ReportAllocs()
			var sink []byte
			for b.Loop() {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				sink = m.Sum(sink[:0])
			}
		})
		b.Run(s.name+"/verify", func(b *testing.B) {
			b.SetBytes(int64(s.size))
			b.ReportAllocs()
			for b.Loop() {
				d := e.Decide(req)
				if d = e.DecideBody(&d, req, body); !d.Allow {
					b.Fatalf("refused: %s", d.Code)
				}
			}
		})
	}
}
