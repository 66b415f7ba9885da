package engine_test

import (
	"strconv"
	"testing"
	"time"
)

// Linear publishes the scheme (hex HMAC-SHA256 of the body in Linear-Signature, and
// webhookTimestamp in the payload, to be checked within a minute) but no signed example, so
// these deliveries are signed here.
func TestLinearPreset(t *testing.T) {
	const sec, next, old = "lin_wh_current_secret_0001", "lin_wh_next_secret_000002", "lin_wh_retired_secret_0003"
	now := time.Unix(1_700_000_000, 0)
	payload := func(at time.Time) string {
		return `{"action":"create","type":"Issue","data":{"id":"abc","title":"webhookTimestamp"},"url":"https://linear.app/x","webhookTimestamp":` +
			strconv.FormatInt(at.UnixMilli(), 10) + `,"webhookId":"w1"}`
	}
	body := payload(now)
	sig := func(secret, b string) [][2]string { return [][2]string{{"linear-signature", hmacHex(secret, b)}} }
	tests := []struct {
		name    string
		headers [][2]string
		body    string
		at      time.Time
		want    string
	}{
		{"valid", sig(sec, body), body, now.Add(30 * time.Second), ""},
		{"signed with the next secret", sig(next, body), body, now, ""},
		{"signed with a retired secret", sig(old, body), body, now, "signature_mismatch"},
		{"tampered body", sig(sec, body), body[:len(body)-1] + ` }`, now, "signature_mismatch"},
		{"61 s old", sig(sec, body), body, now.Add(61 * time.Second), "timestamp_out_of_window"},
		{"from the future", sig(sec, body), body, now.Add(-61 * time.Second), "timestamp_out_of_window"},
		{"no webhookTimestamp", sig(sec, `{"action":"create"}`), `{"action":"create"}`, now, "signature_malformed"},
		{"webhookTimestamp not a number", sig(sec, `{"webhookTimestamp":"1"}`), `{"webhookTimestamp":"1"}`, now, "signature_malformed"},
		{"body not JSON", sig(sec, "nope"), "nope", now, "signature_malformed"},
		{"signature not hex", [][2]string{{"linear-signature", "sha256=" + hmacHex(sec, body)}}, body, now, "signature_malformed"},
	}
	e := compile(t, hookPolicy("linear", sec, next, ""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := deliver(e, nil, tt.headers, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
	// Replay protection uses the payload's timestamp as the signed one.
	r := compile(t, hookPolicy("linear", sec, "", `,"replay_protection":true`))
	if d := deliver(r, nil, sig(sec, body), body, now); !d.Allow {
		t.Fatalf("first: %q", d.Code)
	}
	if d := deliver(r, nil, sig(sec, body), body, now.Add(time.Second)); d.Code != "replayed" {
		t.Fatalf("again: allow %v %q", d.Allow, d.Code)
	}
}
