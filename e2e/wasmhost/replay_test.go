package wasmhost_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
	"github.com/portcullis/portcullis/shared/engine"
)

const replaySecret = "replay-test-secret-0001"

var replayConfig = []byte(`{"policy": {"version": 1,
  "webhooks": [{"name": "pay", "preset": "stripe", "secret": "` + replaySecret + `", "replay_protection": true}],
  "routes": [{"name": "pay", "match": {"path_prefix": "/hooks/pay"}, "auth": {"type": "webhook", "webhook": "pay"}}]}}`)

// stripeDelivery signs body at ts the way Stripe does.
func stripeDelivery(ts int64, body string) [][2]string {
	t := strconv.FormatInt(ts, 10)
	m := hmac.New(sha256.New, []byte(replaySecret))
	m.Write([]byte(t + "." + body))
	return [][2]string{{":method", "POST"}, {":path", "/hooks/pay"}, {":authority", "hooks.example.com"},
		{"content-length", strconv.Itoa(len(body))}, {"stripe-signature", "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))}}
}

// post sends one delivery on the host's next worker VM (round-robin) and returns the status
// (200 when the body reached the upstream) and the denial code.
func post(t *testing.T, h *wasmhost.Host, headers [][2]string, body string) (int, string) {
	t.Helper()
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders(headers, false)
	if r.Action != wasmhost.LocalResponse {
		r = s.RequestBody([]byte(body), true)
	}
	if r.Action == wasmhost.LocalResponse {
		code := ""
		if i := strings.Index(string(r.Local.Body), `"code":"`); i >= 0 {
			code = strings.SplitN(string(r.Local.Body)[i+8:], `"`, 2)[0]
		}
		return r.Local.Status, code
	}
	if string(r.Body) != body || !r.EndOfStream {
		t.Fatalf("upstream got %q (end %v), want the body unchanged", r.Body, r.EndOfStream)
	}
	return 200, ""
}

// TestReplayAcrossWorkers: a delivery accepted on one worker VM is a replay on the other,
// because the table lives in shared data, not in a VM.
func TestReplayAcrossWorkers(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	clock := wasmhost.NewFakeClock(t0)
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: replayConfig, Clock: clock})
	body := `{"id":"evt_1","type":"charge.succeeded"}`
	steps := []struct {
		name    string
		headers [][2]string
		body    string
		status  int
		code    string
	}{
		{"first delivery, worker 0", stripeDelivery(t0.Unix(), body), body, 200, ""},
		{"replay on worker 1", stripeDelivery(t0.Unix(), body), body, 401, "replayed"},
		{"replay on worker 0", stripeDelivery(t0.Unix(), body), body, 401, "replayed"},
		{"tampered replay is a mismatch, not recorded", stripeDelivery(t0.Unix()+1, body), body + " ", 401, "signature_mismatch"},
		{"the provider's retry, signed anew", stripeDelivery(t0.Unix()+1, body), body, 200, ""},
		{"its replay on the other worker", stripeDelivery(t0.Unix()+1, body), body, 401, "replayed"},
	}
	for _, s := range steps {
		if status, code := post(t, h, s.headers, s.body); status != s.status || code != s.code {
			t.Fatalf("%s: %d %q, want %d %q", s.name, status, code, s.status, s.code)
		}
	}
	if n := h.Sum("portcullis_requests_denied_total", "reason", "replayed"); n != 3 {
		t.Fatalf("replayed counter %d, want 3", n)
	}
	// One bucket per delivery fingerprint in shared data, of the engine's fixed size.
	buckets := 0
	for i := range engine.ReplayBuckets {
		if v, _, ok := h.SharedData("portcullis.replay." + strconv.Itoa(i)); ok {
			buckets++
			if len(v) != engine.ReplayBucketBytes {
				t.Fatalf("bucket %d holds %d bytes", i, len(v))
			}
		}
	}
	if buckets == 0 || buckets > 2 {
		t.Fatalf("%d buckets in shared data, want 1 or 2 for two deliveries", buckets)
	}
}

// TestReplayTableFull: when the bucket a delivery belongs to holds ReplaySlots live
// deliveries, the next one is refused with 503 replay_unrecorded, never let through
// unrecorded; once the window has passed, its slots are reused.
func TestReplayTableFull(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	clock := wasmhost.NewFakeClock(t0)
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: replayConfig, Clock: clock})
	bodies := sameBucket(t0.Unix(), engine.ReplaySlots+1)
	for i, b := range bodies[:engine.ReplaySlots] {
		if status, code := post(t, h, stripeDelivery(t0.Unix(), b), b); status != 200 {
			t.Fatalf("delivery %d: %d %q", i, status, code)
		}
	}
	last := bodies[engine.ReplaySlots]
	if status, code := post(t, h, stripeDelivery(t0.Unix(), last), last); status != 503 || code != "replay_unrecorded" {
		t.Fatalf("delivery into a full bucket: %d %q, want 503 replay_unrecorded", status, code)
	}
	clock.Advance(301 * time.Second) // Stripe's 300 s window has closed for every entry
	now := clock.Now().Unix()
	if status, code := post(t, h, stripeDelivery(now, last), last); status != 200 {
		t.Fatalf("after the window: %d %q", status, code)
	}
}

// sameBucket finds bodies whose deliveries at ts land in one replay bucket. It mirrors the
// engine's fingerprint (replay.go: SHA-256 of the verifier name, a zero byte and the current
// secret's HMAC of the signed content); if that changes, the full-bucket test stops filling
// the bucket and fails.
func sameBucket(ts int64, n int) []string {
	byBucket := map[int][]string{}
	for i := 0; ; i++ {
		body := fmt.Sprintf(`{"id":"evt_%d"}`, i)
		m := hmac.New(sha256.New, []byte(replaySecret))
		m.Write([]byte(strconv.FormatInt(ts, 10) + "." + body))
		fp := sha256.Sum256(append([]byte("pay\x00"), m.Sum(nil)...))
		b := int(binary.BigEndian.Uint32(fp[:4]) % engine.ReplayBuckets)
		byBucket[b] = append(byBucket[b], body)
		if len(byBucket[b]) == n {
			return byBucket[b]
		}
	}
}
