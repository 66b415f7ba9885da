package engine_test

import (
	"strconv"
	"testing"
	"time"
)

// Grafana publishes no fixed signed example: its own tests (grafana/alerting, http/hmac_test.go)
// recompute the HMAC the way it signs, hex HMAC-SHA256 of the body or of timestamp + ":" +
// body, which is what these deliveries are signed with.
func TestGrafanaPreset(t *testing.T) {
	const sec, next = "grafana-hmac-secret-0001", "grafana-hmac-secret-0002"
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"receiver":"ops","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLatency"}}]}`
	sig := func(s, msg string) [2]string { return [2]string{"x-grafana-alerting-signature", hmacHex(s, msg)} }
	stamp := [2]string{"x-grafana-alerting-timestamp", ts}
	type hs = [][2]string
	tests := []struct {
		name, extra string
		headers     hs
		body        string
		at          time.Time
		want        string
	}{
		{"body only (Grafana's default)", "", hs{sig(sec, body)}, body, now, ""},
		{"next secret", "", hs{sig(next, body)}, body, now, ""},
		{"with a timestamp", "", hs{sig(sec, ts+":"+body), stamp}, body, now, ""},
		{"timestamp header dropped", "", hs{sig(sec, ts+":"+body)}, body, now, "signature_mismatch"},
		{"tampered body", "", hs{sig(sec, body)}, body + " ", now, "signature_mismatch"},
		{"not hex", "", hs{{"x-grafana-alerting-signature", "sha256=" + hmacHex(sec, body)}}, body, now, "signature_malformed"},
		{"window set: timestamp required", `,"tolerance_seconds":120`, hs{sig(sec, body)}, body, now, "signature_missing"},
		{"window set: within it", `,"tolerance_seconds":120`, hs{sig(sec, ts+":"+body), stamp}, body, now.Add(2 * time.Minute), ""},
		{"window set: outside it", `,"tolerance_seconds":120`, hs{sig(sec, ts+":"+body), stamp}, body, now.Add(121 * time.Second), "timestamp_out_of_window"},
		{"no window: an old timestamp is only signed content", "", hs{sig(sec, ts+":"+body), stamp}, body, now.Add(time.Hour), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compile(t, hookPolicy("grafana", sec, next, tt.extra))
			if d := deliver(e, nil, tt.headers, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}
