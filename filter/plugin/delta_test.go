package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
)

// deltaReply builds the control server's 200 answer holding a delta signed with priv.
func (s signer) deltaReply(t *testing.T, base, version uint64, c policy.Changes) ([][2]string, []byte) {
	t.Helper()
	payload, err := snapshot.EncodeDelta(&snapshot.Delta{Base: base, Version: version, IssuedAt: s.now(), Changes: &c})
	if err != nil {
		t.Fatal(err)
	}
	return [][2]string{{":status", "200"}, {snapshot.PayloadHeader, snapshot.KindDelta},
		{snapshot.SignatureHeader, snapshot.SignDelta(s.priv, payload)}, s.answer(version, snapshot.KindDelta, payload)}, payload
}

// scenarioKey is a key of the scenario policy, as a delta would carry it.
func scenarioKey(t *testing.T, id string) policy.Key {
	t.Helper()
	doc, err := policy.Parse([]byte(scenario.Policy))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range doc.Keys {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("no key %q in the scenario policy", id)
	return policy.Key{}
}

func revokeFull(t *testing.T) policy.Changes {
	k := scenarioKey(t, "k-full")
	return policy.Changes{RemoveKeys: []policy.KeyRef{{ID: k.ID, SHA256: k.SHA256}}}
}

// TestPollAppliesDelta: a delta from the version held is applied — the revoked key is refused
// on the next request — and counted; the next poll still offers deltas.
func TestPollAppliesDelta(t *testing.T) {
	s := newSigner(t)
	host, _ := nativeLeg.start(t, s.config(false))
	hs, body := s.snapshotReply(t, 5, scenario.Policy)
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("before the delta: %d", o.Status)
	}
	hs, body = s.deltaReply(t, 5, 6, revokeFull(t))
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
	if o, _ := send(host, &apiReq); o.Status != 401 {
		t.Fatalf("after the delta revoking k-full: %d %s, want 401", o.Status, o.Body)
	}
	if n, _ := host.GetCounterMetric("portcullis_deltas_applied_total"); n != 1 {
		t.Fatalf("deltas applied = %d, want 1", n)
	}
	if v, _ := host.GetGaugeMetric("portcullis_policy_version"); v != 6 {
		t.Fatalf("policy version = %d, want 6", v)
	}
	if p := pathOf(lastPoll(t, host).Headers); p != "/v1/snapshot?version=6&wait=5&delta=1&nonce=test-nonce&fresh=2" {
		t.Fatalf("next poll = %q", p)
	}
}

// TestPollTakesThePreviousFreshnessFormat: a control server older than the filter signs
// statements in the previous format, which name no body; the filter takes them, checking the
// payload's own signature instead, and refuses a body that signature does not cover.
func TestPollTakesThePreviousFreshnessFormat(t *testing.T) {
	s := newSigner(t)
	host, _ := nativeLeg.start(t, s.config(false))
	previous := func(hs [][2]string, version uint64) [][2]string {
		out := append([][2]string(nil), hs...)
		for i := range out {
			if out[i][0] == snapshot.FreshnessHeader {
				out[i][1] = snapshot.SignFreshnessV1(s.priv, version, s.now(), testNonce)
			}
		}
		return out
	}
	hs, body := s.snapshotReply(t, 5, scenario.Policy)
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, previous(hs, 5), nil, body)
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("after a snapshot with a previous-format statement: %d", o.Status)
	}
	// A delta body its own signature does not cover: refused, the key stays.
	hs, body = s.deltaReply(t, 5, 6, revokeFull(t))
	forged := []byte(strings.Replace(string(body), `"version":6`, `"version":7`, 1))
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, previous(hs, 7), nil, forged)
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("after a forged delta: %d, want the key still allowed", o.Status)
	}
	if n, _ := host.GetCounterMetric("portcullis_snapshots_rejected_total"); n != 1 {
		t.Fatalf("rejections = %d, want 1", n)
	}
	hs, body = s.snapshotReply(t, 6, scenario.Policy)
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, previous(hs, 6), nil, body)
	hs, body = s.deltaReply(t, 6, 7, revokeFull(t))
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, previous(hs, 7), nil, body)
	if o, _ := send(host, &apiReq); o.Status != 401 {
		t.Fatalf("after a delta with a previous-format statement revoking k-full: %d, want 401", o.Status)
	}
}

// TestPollRefusesBadDeltas: a delta duplicated, reordered, forged, signed as something else or
// not applying cleanly is refused and counted, the policy in force stays whole, and the next
// poll asks for a full snapshot (no delta=1), which sets things right.
func TestPollRefusesBadDeltas(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	cases := []struct {
		name  string
		reply func(t *testing.T) ([][2]string, []byte)
	}{
		{"duplicated (already at its version)", func(t *testing.T) ([][2]string, []byte) { return s.deltaReply(t, 4, 5, revokeFull(t)) }},
		{"reordered (base ahead of the version held)", func(t *testing.T) ([][2]string, []byte) { return s.deltaReply(t, 6, 7, revokeFull(t)) }},
		{"forged", func(t *testing.T) ([][2]string, []byte) { return other.deltaReply(t, 5, 6, revokeFull(t)) }},
		{"a snapshot's statement on a delta", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.deltaReply(t, 5, 6, revokeFull(t))
			hs[3] = s.answer(6, snapshot.KindSnapshot, body)
			return hs, body
		}},
		{"a not-modified statement on a delta", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.deltaReply(t, 5, 6, revokeFull(t))
			hs[3] = s.fresh(6)
			return hs, body
		}},
		{"body swapped for another validly signed delta", func(t *testing.T) ([][2]string, []byte) {
			hs, _ := s.deltaReply(t, 5, 6, policy.Changes{})
			_, body := s.deltaReply(t, 5, 6, revokeFull(t))
			return hs, body
		}},
		{"tampered", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.deltaReply(t, 5, 6, revokeFull(t))
			return hs, []byte(strings.Replace(string(body), `"version":6`, `"version":9`, 1))
		}},
		{"replayed (freshness for another poll)", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.deltaReply(t, 5, 6, revokeFull(t))
			hs[3][1] = snapshot.SignAnswerFreshness(s.priv, 6, time.Now(), "an-earlier-poll", snapshot.KindDelta, body)
			return hs, body
		}},
		{"does not apply (removes a key not in force, then revokes k-full)", func(t *testing.T) ([][2]string, []byte) {
			c := revokeFull(t)
			c.RemoveKeys = append([]policy.KeyRef{{ID: "ghost", SHA256: strings.Repeat("0", 64)}}, c.RemoveKeys...)
			return s.deltaReply(t, 5, 6, c)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, _ := nativeLeg.start(t, s.config(false))
			hs, body := s.snapshotReply(t, 5, scenario.Policy)
			host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)

			hs, body = tc.reply(t)
			host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
			if n, _ := host.GetCounterMetric("portcullis_snapshots_rejected_total"); n != 1 {
				t.Fatalf("rejected = %d, want 1", n)
			}
			if n, _ := host.GetCounterMetric("portcullis_deltas_applied_total"); n != 0 {
				t.Fatalf("deltas applied = %d, want 0", n)
			}
			if o, _ := send(host, &apiReq); o.Status != 0 {
				t.Fatalf("the policy in force changed: k-full %d %s", o.Status, o.Body)
			}
			poll := lastPoll(t, host)
			if p := pathOf(poll.Headers); p != "/v1/snapshot?version=5&wait=5&nonce=test-nonce&fresh=2" {
				t.Fatalf("poll after a refused delta = %q, want a full snapshot asked for", p)
			}
			revoked := strings.Replace(scenario.Policy, `"id": "k-full", "name": "Full Access"`, `"id": "k-full", "name": "Full Access", "active": false`, 1)
			hs, body = s.snapshotReply(t, 6, revoked)
			host.CallOnHttpCallResponse(poll.CalloutID, hs, nil, body)
			if o, _ := send(host, &apiReq); o.Status != 401 {
				t.Fatalf("after the full snapshot: k-full %d, want 401", o.Status)
			}
			if p := pathOf(lastPoll(t, host).Headers); p != "/v1/snapshot?version=6&wait=5&delta=1&nonce=test-nonce&fresh=2" {
				t.Fatalf("poll after the full snapshot = %q, want deltas offered again", p)
			}
		})
	}
}

// TestRestartedFilterRefusesReplay: whoever answers a restarted filter's poll can replay an
// old, validly signed snapshot (one that still holds a key revoked since), with the freshness
// statement it was served with. That statement answers an earlier poll's nonce: refused, and
// the filter keeps what it has (here nothing: 503, never open).
func TestRestartedFilterRefusesReplay(t *testing.T) {
	s := newSigner(t)
	old, oldBody := s.snapshotReply(t, 3, scenario.Policy) // recorded from an earlier poll
	old[2][1] = snapshot.SignAnswerFreshness(s.priv, 3, time.Now(), "an-earlier-poll", snapshot.KindSnapshot, oldBody)

	host, _ := nativeLeg.start(t, s.config(false)) // the restart
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, old, nil, oldBody)
	if n, _ := host.GetCounterMetric("portcullis_snapshots_applied_total"); n != 0 {
		t.Fatal("a snapshot older than the freshness window was applied")
	}
	if o, _ := send(host, &apiReq); o.Status != 503 {
		t.Fatalf("after the replay: %d, want 503 (no policy yet)", o.Status)
	}
	if l := strings.Join(host.GetErrorLogs(), "\n"); !strings.Contains(l, "answers another poll (a replayed answer)") {
		t.Fatalf("the refusal is not logged with its reason:\n%s", l)
	}
	// The genuine answer, fresh, is applied.
	hs, body := s.snapshotReply(t, 9, scenario.Policy)
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("after the fresh snapshot: %d", o.Status)
	}
}

// TestStalePolicy: without a freshness statement newer than the window the policy is reported
// stale, and still enforced (never fail open); a fresh "not modified" clears it.
func TestStalePolicy(t *testing.T) {
	s := newSigner(t)
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	host := startAt(t, s.config(false), clk)
	hs, body := s.snapshotReply(t, 4, scenario.Policy)
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
	stale := func() int64 { host.Tick(); return gauge(t, host, "portcullis_policy_stale") }
	if stale() != 0 {
		t.Fatal("stale right after an apply")
	}
	// Only unsigned "not modified" answers (or a replayed statement) for six minutes.
	for range 36 {
		clk.advance(10 * time.Second)
		calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
		host.CallOnHttpCallResponse(calls[len(calls)-1].CalloutID, [][2]string{{":status", "304"}}, nil, nil)
		host.Tick()
	}
	if stale() != 1 || gauge(t, host, "portcullis_policy_age_seconds") < 300 {
		t.Fatalf("after 6 minutes without a valid statement: stale %d, age %d", stale(), gauge(t, host, "portcullis_policy_age_seconds"))
	}
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("a stale policy must still be enforced as it was: %d", o.Status)
	}
	if o, _ := send(host, &scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x"}); o.Status != 401 {
		t.Fatalf("a stale policy must not fail open: no key got %d", o.Status)
	}
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	host.CallOnHttpCallResponse(calls[len(calls)-1].CalloutID, s.notModified(4), nil, nil)
	if stale() != 0 {
		t.Fatal("still stale after a fresh statement")
	}
}
