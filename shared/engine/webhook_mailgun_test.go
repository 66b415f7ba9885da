package engine_test

import (
	"strconv"
	"testing"
	"time"
)

// Mailgun's documentation shows a signature block but not the key that made it, so these
// deliveries are signed here: hex HMAC-SHA256 of timestamp + token, inside the JSON body.
func TestMailgunPreset(t *testing.T) {
	const sec, next, other = "key-mailgun-signing-0001", "key-mailgun-signing-0002", "key-mailgun-signing-0003"
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	const token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
	delivery := func(key, ts, event string) string {
		return `{"signature":{"timestamp":"` + ts + `","token":"` + token + `","signature":"` + hmacHex(key, ts+token) + `"},` +
			`"event-data":{"event":"` + event + `","id":"CPgfbmQMTCKtHW6uIWtuVe"}}`
	}
	good := delivery(sec, ts, "delivered")
	tests := []struct {
		name, body string
		at         time.Time
		want       string
	}{
		{"signed with the current key", good, now, ""},
		{"signed with the next key", delivery(next, ts, "delivered"), now, ""},
		{"signed with another key", delivery(other, ts, "delivered"), now, "signature_mismatch"},
		{"stale", good, now.Add(301 * time.Second), "timestamp_out_of_window"},
		{"no signature block", `{"event-data":{"event":"delivered"}}`, now, "signature_missing"},
		{"empty token", `{"signature":{"timestamp":"` + ts + `","token":"","signature":"00"}}`, now, "signature_missing"},
		{"block not an object", `{"signature":"x"}`, now, "signature_malformed"},
		{"two blocks", `{"signature":{"timestamp":"1","token":"t","signature":"00"},` + good[1:], now, "signature_malformed"},
		{"not JSON", "timestamp=1&token=t&signature=00", now, "signature_malformed"},
		{"signature not hex", `{"signature":{"timestamp":"` + ts + `","token":"t","signature":"zz"}}`, now, "signature_malformed"},
		// Mailgun does not sign the event data: the same block on another body verifies.
		{"unsigned event data", delivery(sec, ts, "failed"), now, ""},
	}
	e := compile(t, hookPolicy("mailgun", sec, next, ""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := deliver(e, nil, nil, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
	// With replay protection the block is accepted once, whatever event data rides on it.
	r := compile(t, hookPolicy("mailgun", sec, "", `,"replay_protection":true`))
	if d := deliver(r, nil, nil, good, now); !d.Allow {
		t.Fatalf("first: %q", d.Code)
	}
	if d := deliver(r, nil, nil, delivery(sec, ts, "failed"), now); d.Code != "replayed" {
		t.Fatalf("block reused on other event data: allow %v %q", d.Allow, d.Code)
	}
}
