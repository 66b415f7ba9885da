package plugin

import (
	"crypto/ed25519"
	"encoding/base64"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// The SDK's emulator cannot deliver http-call responses into a compiled module, so these tests
// run natively here; the same behaviour runs against the compiled module in e2e/, through our
// wazero host and a real control server.

type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	now  func() time.Time // the control server's clock for freshness statements
}

func newSigner(t *testing.T) signer {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer{pub, priv, time.Now}
}

// testNonce is every poll's nonce in the native tests, so that an answer can be signed before
// the poll it answers is dispatched (the compiled module's nonces are random: e2e/).
const testNonce = "test-nonce"

func init() { makeNonce = func() string { return testNonce } }

// fresh is the freshness header the control server sends with a "not modified" for version.
func (s signer) fresh(version uint64) [2]string {
	return [2]string{snapshot.FreshnessHeader, snapshot.SignFreshness(s.priv, version, s.now(), testNonce)}
}

// answer is the freshness header the control server sends with a 200 answer for version whose
// body is a payload of kind.
func (s signer) answer(version uint64, kind string, body []byte) [2]string {
	return [2]string{snapshot.FreshnessHeader, snapshot.SignAnswerFreshness(s.priv, version, s.now(), testNonce, kind, body)}
}

// notModified is the control server's 304 for a client holding version.
func (s signer) notModified(version uint64) [][2]string {
	return [][2]string{{":status", "304"}, s.fresh(version)}
}

func (s signer) config(withPolicy bool) []byte {
	c := `{"control":{"cluster":"control","token":"dp-secret-token","public_key":"` + base64.StdEncoding.EncodeToString(s.pub) + `","wait_seconds":5}`
	if withPolicy {
		c += `,"policy":` + scenario.Policy
	}
	return []byte(c + `}`)
}

// snapshotReply builds a signed 200 answer holding doc at version, issued now.
func (s signer) snapshotReply(t *testing.T, version uint64, doc string) ([][2]string, []byte) {
	t.Helper()
	return s.snapshotReplyAt(t, version, doc, time.Now())
}

// snapshotReplyAt is snapshotReply issued at a given time (by the control server's clock).
func (s signer) snapshotReplyAt(t *testing.T, version uint64, doc string, issued time.Time) ([][2]string, []byte) {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := snapshot.Encode(version, issued, d)
	if err != nil {
		t.Fatal(err)
	}
	return [][2]string{{":status", "200"}, {snapshot.SignatureHeader, snapshot.Sign(s.priv, payload)},
		s.answer(version, snapshot.KindSnapshot, payload)}, payload
}

// lastPoll ticks and returns the poll the filter dispatched.
func lastPoll(t *testing.T, host proxytest.HostEmulator) proxytest.HttpCalloutAttribute {
	t.Helper()
	host.Tick()
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(calls) == 0 {
		t.Fatal("no poll dispatched on tick")
	}
	return calls[len(calls)-1]
}

// pathOf is a poll's :path without its issued parameter (the issued_at of the version held,
// which TestPollSendsIssued checks).
func pathOf(hs [][2]string) string {
	return issuedParam.ReplaceAllString(header(hs, ":path"), "")
}

var issuedParam = regexp.MustCompile(`&issued=[0-9]+`)

func header(hs [][2]string, name string) string {
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

var apiReq = scenario.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x", Headers: [][2]string{{"x-api-key", scenario.KeyFull}}}

func TestPollAppliesSignedSnapshot(t *testing.T) {
	s := newSigner(t)
	host, status := nativeLeg.start(t, s.config(false))
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("start failed: %v", host.GetCriticalLogs())
	}
	if host.GetTickPeriod() != 200 {
		t.Fatalf("tick period = %d, want the 200 ms default", host.GetTickPeriod())
	}
	if o, _ := send(host, &apiReq); o.Status != 503 || !strings.Contains(string(o.Body), "policy_unavailable") {
		t.Fatalf("before any snapshot: %d %s, want 503 policy_unavailable", o.Status, o.Body)
	}
	poll := lastPoll(t, host)
	if poll.Upstream != "control" || pathOf(poll.Headers) != "/v1/snapshot?version=0&wait=5&delta=1&nonce=test-nonce&fresh=2" ||
		header(poll.Headers, "authorization") != "Bearer dp-secret-token" || header(poll.Headers, ":authority") != "portcullis-control" {
		t.Fatalf("poll = %+v", poll)
	}
	// A second tick while the poll is in flight must not start another.
	host.Tick()
	if n := len(host.GetCalloutAttributesFromContext(proxytest.PluginContextID)); n != 1 {
		t.Fatalf("%d polls in flight, want 1", n)
	}
	hs, body := s.snapshotReply(t, 7, scenario.Policy)
	gcPercent := debug.SetGCPercent(-1) // read the setting (the native leg shares this process)
	debug.SetGCPercent(gcPercent)
	host.CallOnHttpCallResponse(poll.CalloutID, hs, nil, body)
	// The collector is paused only while the snapshot applies.
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Fatalf("GC percent after the apply = %d, want %d", got, gcPercent)
	}
	sent := time.Now()
	if o, _ := send(host, &apiReq); o.Status != 0 {
		t.Fatalf("after the snapshot: %d %s, want allowed", o.Status, o.Body)
	}
	if v, _ := host.GetGaugeMetric("portcullis_policy_version"); v != 7 {
		t.Fatalf("policy version gauge = %d, want 7", v)
	}
	if n, _ := host.GetCounterMetric("portcullis_snapshots_applied_total"); n != 1 {
		t.Fatalf("applied = %d, want 1", n)
	}
	// After an applied snapshot the next poll starts at once, without waiting for a tick, and
	// asks for anything newer than 7.
	// (The emulator lists every call dispatched so far.)
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(calls) != 2 {
		t.Fatalf("%d polls dispatched, want the answered one and one started at once", len(calls))
	}
	again := calls[1]
	if p := pathOf(again.Headers); p != "/v1/snapshot?version=7&wait=5&delta=1&nonce=test-nonce&fresh=2" {
		t.Fatalf("next poll path = %q", p)
	}
	// It came back "not modified"; the poll after it, on the tick, reports the key's use and
	// when it happened.
	host.CallOnHttpCallResponse(again.CalloutID, s.notModified(7), nil, nil)
	next := lastPoll(t, host)
	if u := usageOf(t, next); u["k-full"].Count != 1 || len(u) != 1 || !usedBetween(u["k-full"], sent, time.Now()) {
		t.Fatalf("usage header = %q, want k-full=1 at the time of the request (%v)", header(next.Headers, "x-portcullis-usage"), sent)
	}
	for _, l := range append(host.GetInfoLogs(), host.GetWarnLogs()...) {
		if strings.Contains(l, "dp-secret-token") {
			t.Fatalf("token logged: %q", l)
		}
	}
}

func TestPollKeepsLastGoodPolicy(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	revoked := strings.Replace(scenario.Policy, `"id": "k-full", "name": "Full Access"`, `"id": "k-full", "name": "Full Access", "active": false`, 1)
	tests := []struct {
		name    string
		reply   func(t *testing.T) ([][2]string, []byte)
		counter string
	}{
		{"tampered body", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.snapshotReply(t, 9, revoked)
			return hs, []byte(strings.Replace(string(body), `"version":9`, `"version":10`, 1))
		}, "portcullis_snapshots_rejected_total"},
		{"signed by another key", func(t *testing.T) ([][2]string, []byte) { return other.snapshotReply(t, 9, revoked) }, "portcullis_snapshots_rejected_total"},
		{"no freshness statement", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.snapshotReply(t, 9, revoked)
			return hs[:2], body
		}, "portcullis_snapshots_rejected_total"},
		{"a not-modified statement on a snapshot", func(t *testing.T) ([][2]string, []byte) {
			hs, body := s.snapshotReply(t, 9, revoked)
			hs[2] = s.fresh(9)
			return hs, body
		}, "portcullis_snapshots_rejected_total"},
		{"body swapped under a genuine statement", func(t *testing.T) ([][2]string, []byte) {
			hs, _ := s.snapshotReply(t, 9, revoked)
			_, other := s.snapshotReply(t, 9, scenario.Policy) // validly signed on its own
			return hs, other
		}, "portcullis_snapshots_rejected_total"},
		{"older version", func(t *testing.T) ([][2]string, []byte) { return s.snapshotReply(t, 2, revoked) }, "portcullis_snapshots_rejected_total"},
		{"same version", func(t *testing.T) ([][2]string, []byte) { return s.snapshotReply(t, 5, revoked) }, "portcullis_snapshots_rejected_total"},
		{"signed garbage", func(t *testing.T) ([][2]string, []byte) {
			body := []byte(`{"version":9,"policy":{"version":1,"routes":"nope"}}`)
			return [][2]string{{":status", "200"}, {snapshot.SignatureHeader, snapshot.Sign(s.priv, body)}, s.answer(9, snapshot.KindSnapshot, body)}, body
		}, "portcullis_snapshots_rejected_total"},
		{"signed, with a malformed key table", func(t *testing.T) ([][2]string, []byte) {
			_, body := s.snapshotReply(t, 9, revoked)
			body = body[:len(body)-1] // the pool ends one byte short
			return [][2]string{{":status", "200"}, {snapshot.SignatureHeader, snapshot.Sign(s.priv, body)}, s.answer(9, snapshot.KindSnapshot, body)}, body
		}, "portcullis_snapshots_rejected_total"},
		{"signed, with keys in the JSON and in a key table", func(t *testing.T) ([][2]string, []byte) {
			_, body := s.snapshotReply(t, 9, revoked)
			cut := strings.Index(string(body), "\n"+keytable.Magic)
			json := strings.Replace(string(body[:cut]), `"policy":{`, `"policy":{"keys":[{"id":"x","sha256":"`+strings.Repeat("ab", 32)+`"}],`, 1)
			body = append([]byte(json), body[cut:]...)
			return [][2]string{{":status", "200"}, {snapshot.SignatureHeader, snapshot.Sign(s.priv, body)}, s.answer(9, snapshot.KindSnapshot, body)}, body
		}, "portcullis_snapshots_rejected_total"},
		{"server error", func(t *testing.T) ([][2]string, []byte) { return [][2]string{{":status", "500"}}, []byte("oops") }, "portcullis_poll_failures_total"},
		{"unreachable", func(t *testing.T) ([][2]string, []byte) { return nil, nil }, "portcullis_poll_failures_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, _ := nativeLeg.start(t, s.config(true))
			hs, body := s.snapshotReply(t, 5, scenario.Policy)
			host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)

			hs, body = tt.reply(t)
			host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
			if n, _ := host.GetCounterMetric(tt.counter); n != 1 {
				t.Fatalf("%s = %d, want 1", tt.counter, n)
			}
			if v, _ := host.GetGaugeMetric("portcullis_policy_version"); v != 5 {
				t.Fatalf("policy version = %d, want 5 kept", v)
			}
			if o, _ := send(host, &apiReq); o.Status != 0 {
				t.Fatalf("the last good policy was not kept: %d %s", o.Status, o.Body)
			}
		})
	}
}

func TestUsageSurvivesFailedPoll(t *testing.T) {
	s := newSigner(t)
	host, _ := nativeLeg.start(t, s.config(true))
	send(host, &apiReq)
	send(host, &apiReq)
	first := lastPoll(t, host)
	if u := usageOf(t, first); u["k-full"].Count != 2 {
		t.Fatalf("usage = %+v, want k-full=2", u)
	}
	host.CallOnHttpCallResponse(first.CalloutID, nil, nil, nil) // unreachable
	before := time.Now()
	send(host, &apiReq)
	if u := usageOf(t, lastPoll(t, host)); u["k-full"].Count != 3 || !usedBetween(u["k-full"], before, time.Now()) {
		t.Fatalf("after a failed poll usage = %+v, want k-full=3 last used by the latest request", u)
	}
}

func TestUsageHeaderIsBounded(t *testing.T) {
	var u usage
	for i := 0; i < 2000; i++ {
		u.add("key-with-a-long-identifier-"+strconv.Itoa(i), 1, time.Now())
	}
	total := 0
	for polls := 0; ; polls++ {
		h, taken := u.take()
		if h == "" {
			break
		}
		if len(h) > maxUsageHeader {
			t.Fatalf("header of %d bytes", len(h))
		}
		total += len(taken)
		if polls > 100 {
			t.Fatal("usage never drains")
		}
	}
	if total != 2000 {
		t.Fatalf("reported %d keys, want 2000", total)
	}
}

// usageOf parses the usage report a poll carries.
func usageOf(t *testing.T, poll proxytest.HttpCalloutAttribute) map[string]snapshot.Use {
	t.Helper()
	u, err := snapshot.ParseUsage(header(poll.Headers, snapshot.UsageHeader))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// usedBetween reports whether a use's time (to the millisecond) falls within [from, to].
func usedBetween(u snapshot.Use, from, to time.Time) bool {
	return !u.Last.Before(from.Truncate(time.Millisecond)) && !u.Last.After(to)
}

// A filter whose clock is behind the control server's must not take keys that had expired
// when the snapshot in force was issued for valid: it judges no request earlier than that.
func TestExpiryNeverJudgedBeforeTheSnapshot(t *testing.T) {
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	doc := strings.Replace(scenario.Policy, `"name": "Full Access",`, `"name": "Full Access", "expires_at": "`+expires+`",`, 1)
	cases := []struct {
		name   string
		issued time.Duration // from now, by the control server's clock
		status int           // 0: allowed
	}{
		{"same clocks: valid for another hour", 0, 0},
		{"the filter's clock two hours behind: expired when issued", 2 * time.Hour, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSigner(t)
			host, _ := nativeLeg.start(t, s.config(false))
			hs, body := s.snapshotReplyAt(t, 1, doc, time.Now().Add(c.issued))
			host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, hs, nil, body)
			if n, _ := host.GetCounterMetric("portcullis_snapshots_applied_total"); n != 1 {
				t.Fatalf("applied = %d, want 1", n)
			}
			if o, _ := send(host, &apiReq); o.Status != c.status {
				t.Fatalf("k-full: %d %s, want %d", o.Status, o.Body, c.status)
			}
		})
	}
}

// TestPollSendsIssued: a poll names the version held and when it was issued, so that a control
// server restored from an older backup can tell its own version N from the one the filter holds.
func TestPollSendsIssued(t *testing.T) {
	s := newSigner(t)
	host, _ := nativeLeg.start(t, s.config(false))
	if p := header(lastPoll(t, host).Headers, ":path"); strings.Contains(p, "issued=") {
		t.Fatalf("first poll %q names an issued time without a version", p)
	}
	issued := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	hs, body := s.snapshotReplyAt(t, 5, scenario.Policy, issued)
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	host.CallOnHttpCallResponse(calls[len(calls)-1].CalloutID, hs, nil, body)
	calls = host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	want := "/v1/snapshot?version=5&wait=5&delta=1&issued=" + strconv.FormatInt(issued.UnixMicro(), 10) + "&nonce=test-nonce&fresh=2"
	if p := header(calls[len(calls)-1].Headers, ":path"); p != want {
		t.Fatalf("poll after version 5: %q, want %q", p, want)
	}
}
