package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// warningAt lists "id@path" of a check report.
func warningsOf(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	ws, ok := m["warnings"].([]any)
	if !ok {
		t.Fatalf("no warnings list in %v", m)
	}
	for _, w := range ws {
		w := w.(map[string]any)
		if w["severity"] == "" || w["message"] == "" {
			t.Errorf("warning without severity or message: %v", w)
		}
		out = append(out, w["id"].(string)+"@"+w["path"].(string))
	}
	return out
}

// GET /v1/checks judges the published snapshot with the store's usage data: a policy that
// allows by default, a key that never expires and was never used in 100 days, a verifier
// whose secret is 200 days old with none staged.
func TestChecksEndpoint(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		m := expect(t, e.do("GET", "/v1/checks", e.readOnly, nil), http.StatusOK, "")
		if m["valid"] != true || len(warningsOf(t, m)) != 0 || m["snapshot_version"].(float64) != float64(e.pub.Current().Version) {
			t.Fatalf("fresh server: %v", m)
		}

		r := e.do("PUT", "/v1/policy", adminToken, `{"version":1,"default_action":"allow"}`, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		e.createKey(map[string]any{"name": "forever"})
		r = e.do("POST", "/v1/webhooks", adminToken, `{"name": "gh", "preset": "github", "secret": "0123456789abcdef0123"}`)
		expect(t, r, http.StatusCreated, "")
		e.waitVersion(versionHeader(t, r))

		got := warningsOf(t, expect(t, e.do("GET", "/v1/checks", adminToken, nil), http.StatusOK, ""))
		if want := []string{"PC001@default_action", "PC004@keys[0].expires_at"}; !slices.Equal(got, want) {
			t.Fatalf("warnings %v, want %v", got, want)
		}

		e.fake.Advance(200 * 24 * time.Hour)
		got = warningsOf(t, expect(t, e.do("GET", "/v1/checks", adminToken, nil), http.StatusOK, ""))
		if want := []string{"PC001@default_action", "PC004@keys[0].expires_at", "PC005@keys[0]", "PC009@webhooks[0]"}; !slices.Equal(got, want) {
			t.Fatalf("after 200 days: warnings %v, want %v", got, want)
		}

		expect(t, e.do("GET", "/v1/checks", dataplaneToken, nil), http.StatusForbidden, "forbidden")
		expect(t, e.do("GET", "/v1/checks", "", nil), http.StatusUnauthorized, "unauthorized")
	})
}
