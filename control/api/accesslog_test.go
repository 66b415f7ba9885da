package api_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/logging/logtest"
)

// Every admin request is logged once with its method, path, status, the token's id (never the
// token) and its duration, and timed in the admin duration histogram; snapshot polls are not
// logged at info.
func TestAdminRequestsAreLogged(t *testing.T) {
	var buf logtest.Buffer
	e := newEnv(t, "sqlite", envOptions{logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	e.do("GET", "/v1/keys?status=active", e.readOnly, nil)
	e.do("DELETE", "/v1/keys/key_nope", e.readOnly, nil)
	e.do("GET", "/v1/keys", "", nil)
	e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil)

	want := []struct {
		method, path, token string
		status              float64
	}{
		{"GET", "/v1/keys", e.readOnlyID, 200},
		{"DELETE", "/v1/keys/key_nope", e.readOnlyID, 403},
		{"GET", "/v1/keys", "", 401},
	}
	var got []map[string]any
	lines, _ := buf.JSONLines()
	for _, l := range lines {
		if l["msg"] == "api request" {
			got = append(got, l)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("logged %d api requests at info, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g["level"] != "INFO" || g["method"] != w.method || g["path"] != w.path || g["status"] != w.status || g["token_id"] != w.token {
			t.Errorf("line %d = %v, want %s %s %v token %q", i, g, w.method, w.path, w.status, w.token)
		}
		if _, ok := g["duration_ms"].(float64); !ok {
			t.Errorf("line %d has no duration_ms: %v", i, g)
		}
	}
	all := buf.String()
	for _, secret := range []string{e.readOnly, dataplaneToken, adminToken, "status=active"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	m := string(e.do("GET", "/metrics", "", nil).body)
	if !strings.Contains(m, "portcullis_control_admin_request_duration_seconds_count 3\n") {
		t.Errorf("admin duration histogram count is not 3:\n%s", m)
	}
}
