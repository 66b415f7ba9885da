package engine_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

// deliver runs one delivery through Decide and DecideBody, as the host does.
func deliver(e *engine.Engine, store engine.ReplayStore, headers [][2]string, body string, now time.Time) engine.Decision {
	req := &engine.Request{Method: "POST", Authority: "h", Path: "/hooks/in", Headers: headers, Now: now, Replay: store}
	d := e.Decide(req)
	if d.Allow && d.BufferBody {
		d = e.DecideBody(&d, req, []byte(body))
	}
	return d
}

func replayEngine(t *testing.T, preset, extra string) *engine.Engine {
	return compile(t, fmt.Sprintf(`{"version":1,"webhooks":[{"name":"w","preset":%q,"secret":"whsec-test-current-0001",
		"next_secret":"whsec-test-next-000002","replay_protection":true%s}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, preset, extra))
}

func TestReplayProtection(t *testing.T) {
	const sec, next = "whsec-test-current-0001", "whsec-test-next-000002"
	body := `{"id":"evt_1"}`
	t0 := time.Unix(1_700_000_000, 0)
	stripe := func(at time.Time, secrets ...string) [][2]string {
		ts := strconv.FormatInt(at.Unix(), 10)
		v := "t=" + ts
		for _, s := range secrets {
			v += ",v1=" + hmacHex(s, ts+"."+body)
		}
		return [][2]string{{"stripe-signature", v}}
	}
	github := [][2]string{{"x-hub-signature-256", "sha256=" + hmacHex(sec, body)}}
	type step struct {
		headers [][2]string
		body    string
		at      time.Time
		want    string
		status  int
	}
	tests := []struct {
		name, preset, extra string
		steps               []step
	}{
		{"stripe replayed within the window", "stripe", "", []step{
			{stripe(t0, sec), body, t0, "", 200},
			{stripe(t0, sec), body, t0.Add(time.Minute), "replayed", 401},
			// The provider's retry is signed again with a new timestamp: a new delivery.
			{stripe(t0.Add(time.Minute), sec), body, t0.Add(time.Minute), "", 200},
			// Past the window the timestamp check refuses it first.
			{stripe(t0, sec), body, t0.Add(301 * time.Second), "timestamp_out_of_window", 401},
		}},
		{"the same delivery through the other secret's signature", "stripe", "", []step{
			{stripe(t0, sec, next), body, t0, "", 200},
			{stripe(t0, next), body, t0, "replayed", 401},
		}},
		{"a failed verification is not recorded", "stripe", "", []step{
			{stripe(t0, sec), body + " ", t0, "signature_mismatch", 401},
			{stripe(t0, sec), body, t0, "", 200},
		}},
		{"standard webhooks: the message id is signed content", "standard-webhooks", "", []step{
			{[][2]string{{"webhook-id", swID}, {"webhook-timestamp", swTS}, {"webhook-signature", swSig}}, swBody, time.Unix(1614265330, 0), "", 200},
			{[][2]string{{"svix-id", swID}, {"svix-timestamp", swTS}, {"svix-signature", swSig}}, swBody, time.Unix(1614265331, 0), "replayed", 401},
		}},
		{"github: remembered for tolerance_seconds", "github", `,"tolerance_seconds":60`, []step{
			{github, body, t0, "", 200},
			{github, body, t0.Add(60 * time.Second), "replayed", 401},
			{github, body, t0.Add(61 * time.Second), "", 200},
			{github, body, t0.Add(62 * time.Second), "replayed", 401},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *engine.Engine
			if tt.preset == "standard-webhooks" { // the published vector's own secret
				e = compile(t, `{"version":1,"webhooks":[{"name":"w","preset":"standard-webhooks","secret":"`+swSecret+`","replay_protection":true}],
					"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`)
			} else {
				e = replayEngine(t, tt.preset, tt.extra)
			}
			for i, s := range tt.steps {
				d := deliver(e, nil, s.headers, s.body, s.at)
				status := d.Status
				if d.Allow {
					status = 200
				}
				if d.Code != s.want || status != s.status {
					t.Fatalf("step %d: %d %q, want %d %q", i, status, d.Code, s.status, s.want)
				}
			}
		})
	}
}

// Two engines (two worker VMs, or a policy swap) sharing one store see each other's
// deliveries; two verifiers never collide.
func TestReplayAcrossEnginesAndVerifiers(t *testing.T) {
	const sec = "whsec-test-current-0001"
	body := `{"id":"evt_2"}`
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	h := [][2]string{{"stripe-signature", "t=" + ts + ",v1=" + hmacHex(sec, ts+"."+body)}}
	store := engine.NewMemoryReplayStore()
	a, b := replayEngine(t, "stripe", ""), replayEngine(t, "stripe", "")
	if d := deliver(a, store, h, body, now); !d.Allow {
		t.Fatalf("first delivery: %s", d.Code)
	}
	if d := deliver(b, store, h, body, now); d.Code != "replayed" {
		t.Fatalf("replay on the other engine: allow %v %q", d.Allow, d.Code)
	}
	other := compile(t, `{"version":1,"webhooks":[{"name":"w2","preset":"stripe","secret":"`+sec+`","replay_protection":true}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w2"}}]}`)
	if d := deliver(other, store, h, body, now); !d.Allow {
		t.Fatalf("same content under another verifier: %s", d.Code)
	}
}

// A store that cannot record refuses the delivery with its own code: never let through
// unrecorded.
func TestReplayUnrecordedFailsClosed(t *testing.T) {
	const sec = "whsec-test-current-0001"
	body := `{}`
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	h := [][2]string{{"stripe-signature", "t=" + ts + ",v1=" + hmacHex(sec, ts+"."+body)}}
	d := deliver(replayEngine(t, "stripe", ""), fullStore{}, h, body, now)
	if d.Allow || d.Code != "replay_unrecorded" || d.Status != 503 || d.Stage != engine.StageSignature {
		t.Fatalf("allow %v %d %q at %v", d.Allow, d.Status, d.Code, d.Stage)
	}
	if got := header(d.Headers, "retry-after"); got != "1" {
		t.Fatalf("retry-after %q", got)
	}
}

type fullStore struct{}

func (fullStore) Remember(engine.Fingerprint, int64, int64) engine.ReplayResult {
	return engine.ReplayUnrecorded
}

func header(hs [][2]string, name string) string {
	for _, h := range hs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// The table's bound: a bucket holds ReplaySlots live deliveries; the next is unrecorded until
// one expires, and an expired slot is reused.
func TestReplayBucketBound(t *testing.T) {
	var bucket []byte
	fp := func(i int) engine.Fingerprint { return engine.Fingerprint{0, 0, 0, 1, byte(i)} }
	for i := 0; i < engine.ReplaySlots; i++ {
		next, res := engine.ReplayRecord(bucket, fp(i), 100, 200+int64(i))
		if res != engine.ReplayFresh || len(next) != engine.ReplayBucketBytes {
			t.Fatalf("slot %d: result %d, %d bytes", i, res, len(next))
		}
		bucket = next
	}
	if _, res := engine.ReplayRecord(bucket, fp(3), 150, 300); res != engine.ReplaySeen {
		t.Fatalf("a live entry: result %d", res)
	}
	if _, res := engine.ReplayRecord(bucket, fp(99), 150, 300); res != engine.ReplayUnrecorded {
		t.Fatalf("a full bucket: result %d", res)
	}
	// At 200 the first entry (expiring at 200) is gone: its slot takes the new one.
	next, res := engine.ReplayRecord(bucket, fp(99), 200, 300)
	if res != engine.ReplayFresh {
		t.Fatalf("after an expiry: result %d", res)
	}
	if _, res := engine.ReplayRecord(next, fp(0), 200, 300); res != engine.ReplayUnrecorded {
		t.Fatalf("expired entry replaced, bucket full again: result %d", res)
	}
	if _, res := engine.ReplayRecord(bucket[:10], fp(1), 0, 1); res != engine.ReplayUnrecorded {
		t.Fatalf("a corrupt bucket: result %d", res)
	}
}
