package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The policy API takes rate limits, and a dry run shows the limits a request counts against
// with the state a fresh bucket reads, and the 429 a closed limit answers.
func TestEvaluateRateLimits(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		doc := `{"version":1,"routes":[
		  {"name":"api","match":{"path_prefix":"/api"},"auth":{"type":"none"},
		   "rate_limits":[{"by":"ip","rate":10,"per":"second","burst":5},{"by":"route","rate":100,"per":"minute","global":true}]},
		  {"name":"closed","match":{"path_prefix":"/closed"},"auth":{"type":"none"},"rate_limits":[{"by":"route","rate":0,"per":"hour"}]}]}`
		r := e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, map[string]any{"method": "GET", "path": "/api/x", "client_address": "192.0.2.7:1"}), http.StatusOK, "")
		if got["allow"] != true || got["check"] != "allow" {
			t.Fatalf("evaluation %v", got)
		}
		limits, _ := json.Marshal(got["rate_limits"])
		var views []map[string]any
		json.Unmarshal(limits, &views)
		if len(views) != 2 || views[0]["name"] != "ip/second" || views[0]["limit"] != float64(5) || views[0]["remaining"] != float64(4) ||
			views[1]["global"] != true || views[1]["remaining"] != float64(99) || views[0]["bucket"] == "" {
			t.Fatalf("rate_limits %s", limits)
		}
		got = expect(t, e.do("POST", "/v1/evaluate", e.readOnly, map[string]any{"method": "GET", "path": "/closed"}), http.StatusOK, "")
		if got["status"] != float64(429) || got["code"] != "rate_limited" || got["check"] != "rate_limit" {
			t.Fatalf("closed route: %v", got)
		}
		// Policy errors carry their paths.
		bad := `{"version":1,"routes":[{"name":"r","auth":{"type":"none"},"rate_limits":[{"by":"api_key","rate":1,"per":"second"}]}]}`
		r = e.do("PUT", "/v1/policy", adminToken, bad, "If-Match", "*")
		if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad policy: %d %s", r.status, r.body)
		}
	})
}
