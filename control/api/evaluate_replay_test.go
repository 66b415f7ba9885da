package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A dry run never records a delivery: evaluating the same delivery again against a verifier
// with replay protection is judged afresh, not "replayed".
func TestEvaluateDoesNotRecordReplays(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		const secret = "evaluate-replay-secret-01"
		expect(t, e.do("POST", "/v1/webhooks", adminToken, map[string]any{"name": "w", "preset": "generic", "secret": secret, "replay_protection": true}), http.StatusCreated, "")
		r := e.do("PUT", "/v1/policy", adminToken, `{"version":1,
			"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		ts := strconv.FormatInt(sent.Unix(), 10)
		body := `{"event":"paid","id":8}`
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + body))
		req := map[string]any{"method": "POST", "path": "/hooks/in", "body": body, "at": sent.Format(time.RFC3339),
			"headers": map[string]any{"x-webhook-signature": hex.EncodeToString(m.Sum(nil)), "x-webhook-timestamp": ts}}
		for i := range 2 {
			if got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, req), http.StatusOK, ""); got["allow"] != true {
				t.Fatalf("evaluation %d: %v", i, got)
			}
		}
	})
}
