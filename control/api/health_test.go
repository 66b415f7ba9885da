package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthReadinessMetrics(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		if m := expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, ""); m["status"] != "ok" {
			t.Fatalf("healthz = %v", m)
		}
		ready := expect(t, e.do("GET", "/readyz", "", nil), http.StatusOK, "")
		if ready["status"] != "ready" || ready["snapshot_version"].(float64) != float64(e.pub.Current().Version) {
			t.Fatalf("readyz = %v", ready)
		}
		e.do("GET", "/v1/keys/key_nope", adminToken, nil)
		e.do("GET", "/v1/keys", "", nil)
		m := e.do("GET", "/metrics", "", nil)
		if m.status != 200 || !strings.HasPrefix(m.header.Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("metrics: %d %s", m.status, m.header.Get("Content-Type"))
		}
		for _, want := range []string{
			`portcullis_control_http_requests_total{method="GET",route="/v1/keys/{id}",status="404"} 1`,
			`portcullis_control_http_requests_total{method="GET",route="/v1/keys",status="401"} 1`,
			`portcullis_control_auth_failures_total 1`,
			`# TYPE portcullis_control_snapshot_version gauge`,
			`portcullis_control_snapshot_builds_total`,
		} {
			if !strings.Contains(string(m.body), want) {
				t.Errorf("metrics lack %q:\n%s", want, m.body)
			}
		}
		// The store gone: not ready (the process is still alive).
		e.store.Close()
		expect(t, e.do("GET", "/readyz", "", nil), http.StatusServiceUnavailable, "not_ready")
		expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
		// Requests that need the store fail with a JSON 500, not a hang or a crash.
		expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusInternalServerError, "internal_error")
	})
}
