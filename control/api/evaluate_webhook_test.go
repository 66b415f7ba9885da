package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// webhookDelivery stores a generic verifier named "w" (with or without replay protection)
// behind a route on /hooks, waits until it is published, and returns a dry-run request for a
// delivery of body signed at sent, with extra fields merged into the request.
func webhookDelivery(t *testing.T, e *env, replay bool, body string, sent time.Time) func(extra map[string]any) map[string]any {
	t.Helper()
	const secret = "evaluate-webhook-secret-01"
	expect(t, e.do("POST", "/v1/webhooks", adminToken, map[string]any{"name": "w", "preset": "generic", "secret": secret, "replay_protection": replay}), http.StatusCreated, "")
	r := e.do("PUT", "/v1/policy", adminToken, `{"version":1,
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, "If-Match", "*")
	expect(t, r, http.StatusOK, "")
	e.waitVersion(versionHeader(t, r))
	ts := strconv.FormatInt(sent.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	sig := hex.EncodeToString(m.Sum(nil))
	return func(extra map[string]any) map[string]any {
		req := map[string]any{"method": "POST", "path": "/hooks/in",
			"headers": map[string]any{"x-webhook-signature": sig, "x-webhook-timestamp": ts}}
		for k, v := range extra {
			req[k] = v
		}
		return req
	}
}

// An operator pastes a failed delivery — even an old one — and sees which check refused it.
func TestEvaluateWebhookDelivery(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		body := `{"event":"paid","id":7}`
		delivery := webhookDelivery(t, e, false, body, sent)
		for _, tc := range []struct {
			name  string
			extra map[string]any
			allow bool
			code  string
		}{
			{"at the time it was sent", map[string]any{"body": body, "at": sent.Add(time.Minute).Format(time.RFC3339)}, true, ""},
			{"as base64", map[string]any{"body_base64": base64.StdEncoding.EncodeToString([]byte(body)), "at": sent.Format(time.RFC3339)}, true, ""},
			{"now: too old", map[string]any{"body": body}, false, "timestamp_out_of_window"},
			{"re-serialized body", map[string]any{"body": `{"event": "paid", "id": 7}`, "at": sent.Format(time.RFC3339)}, false, "signature_mismatch"},
			{"no body given", map[string]any{"at": sent.Format(time.RFC3339)}, false, "signature_mismatch"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, delivery(tc.extra)), http.StatusOK, "")
				if got["allow"] != tc.allow || (!tc.allow && (got["code"] != tc.code || got["check"] != "signature")) {
					t.Fatalf("evaluation %v, want allow=%v code=%q at the signature check", got, tc.allow, tc.code)
				}
			})
		}
		r := e.do("POST", "/v1/evaluate", e.readOnly, delivery(map[string]any{"body_base64": "%%%"}))
		expect(t, r, http.StatusUnprocessableEntity, "") // names the field, like every invalid field
	})
}

// A dry run never records a delivery: evaluating the same delivery again against a verifier
// with replay protection is judged afresh, not "replayed".
func TestEvaluateDoesNotRecordReplays(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		body := `{"event":"paid","id":8}`
		req := webhookDelivery(t, e, true, body, sent)(map[string]any{"body": body, "at": sent.Format(time.RFC3339)})
		for i := range 2 {
			if got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, req), http.StatusOK, ""); got["allow"] != true {
				t.Fatalf("evaluation %d: %v", i, got)
			}
		}
	})
}
