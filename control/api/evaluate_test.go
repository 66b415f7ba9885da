package api_test

import (
	"net/http"
	"reflect"
	"testing"
)

func TestEvaluate(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		r := e.do("PUT", "/v1/policy", adminToken, `{"version":1,"routes":[
			{"name":"health","match":{"path_prefix":"/healthz"},"auth":{"type":"none"}},
			{"name":"api","match":{"hosts":["api.example.com"],"path_prefix":"/api"},"auth":{"type":"api_key"},"hide_credentials":true}]}`, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		k, raw := e.createKey(map[string]any{"name": "ci", "allowed_paths": []string{"/api/builds"}})
		id := k["id"].(string)
		revoked, revokedRaw := e.createKey(map[string]any{"name": "old"})
		r = e.do("DELETE", "/v1/keys/"+revoked["id"].(string), adminToken, nil)
		e.waitVersion(versionHeader(t, r))

		for _, tc := range []struct {
			name    string
			req     map[string]any
			allow   bool
			status  float64
			code    string
			route   string
			keyID   string
			check   string
			setHdrs []any
		}{
			{"key allowed", map[string]any{"method": "GET", "host": "api.example.com:443", "path": "/api/builds/1?x=1", "headers": map[string]any{"X-API-Key": raw}},
				true, 0, "", "api", id, "allow", []any{[]any{"x-portcullis-auth", "api_key"}, []any{"x-portcullis-key-id", id}, []any{"x-portcullis-key-name", "ci"}}},
			{"bearer key allowed", map[string]any{"method": "POST", "host": "api.example.com", "path": "/api/builds", "headers": map[string]any{"authorization": "Bearer " + raw}},
				true, 0, "", "api", id, "allow", []any{[]any{"x-portcullis-auth", "api_key"}, []any{"x-portcullis-key-id", id}, []any{"x-portcullis-key-name", "ci"}}},
			{"no key", map[string]any{"method": "GET", "host": "api.example.com", "path": "/api/builds"},
				false, 401, "missing_credentials", "api", "", "auth", nil},
			{"revoked key", map[string]any{"method": "GET", "host": "api.example.com", "path": "/api/builds", "headers": map[string]any{"x-api-key": revokedRaw}},
				false, 401, "invalid_credentials", "api", "", "auth", nil},
			{"path outside the key's paths", map[string]any{"method": "GET", "host": "api.example.com", "path": "/api/users", "headers": map[string]any{"x-api-key": raw}},
				false, 403, "path_not_allowed", "api", id, "guard", nil},
			{"repeated credential", map[string]any{"method": "GET", "host": "api.example.com", "path": "/api/builds", "headers": map[string]any{"x-api-key": []string{raw, raw}}},
				false, 400, "duplicate_credentials", "api", "", "auth", nil},
			{"public route", map[string]any{"method": "GET", "path": "/healthz"}, true, 0, "", "health", "", "allow", nil},
			{"no route", map[string]any{"method": "GET", "host": "other.example.com", "path": "/api"}, false, 403, "no_route", "", "", "route", nil},
			{"path traversal", map[string]any{"method": "GET", "path": "/api/%2e%2e/admin"}, false, 400, "invalid_path", "", "", "path", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, tc.req), http.StatusOK, "")
				got := []any{m["allow"], m["status"], m["code"], m["route"], m["key_id"], m["check"]}
				var status, code any
				if !tc.allow {
					status, code = tc.status, tc.code
				}
				want := []any{tc.allow, status, code, tc.route, tc.keyID, tc.check}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decision %v, want %v (%v)", got, want, m)
				}
				if tc.setHdrs == nil && m["set_headers"] != nil || tc.setHdrs != nil && !reflect.DeepEqual(m["set_headers"], tc.setHdrs) {
					t.Fatalf("set_headers = %v, want %v", m["set_headers"], tc.setHdrs)
				}
				if !tc.allow && m["body"].(map[string]any)["code"] != tc.code {
					t.Fatalf("denial body = %v", m["body"])
				}
				if m["snapshot_version"].(float64) != float64(e.pub.Current().Version) {
					t.Fatalf("snapshot_version = %v", m["snapshot_version"])
				}
			})
		}
		// hide_credentials shows as a removal.
		m := expect(t, e.do("POST", "/v1/evaluate", adminToken, map[string]any{"method": "GET", "host": "api.example.com", "path": "/api/builds",
			"headers": map[string]any{"x-api-key": raw, "x-portcullis-key-id": "forged"}}), http.StatusOK, "")
		if !reflect.DeepEqual(m["remove_headers"], []any{"x-portcullis-key-id", "x-api-key"}) {
			t.Fatalf("remove_headers = %v", m["remove_headers"])
		}
	})
}

func TestEvaluateErrors(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		fields     []string
	}{
		{"no method", `{"path":"/"}`, 422, "invalid_request", []string{"method"}},
		{"no path", `{"method":"GET"}`, 422, "invalid_request", []string{"path"}},
		{"unknown field", `{"method":"GET","path":"/","body":"x"}`, 422, "invalid_request", []string{"body"}},
		{"header value not a string", `{"method":"GET","path":"/","headers":{"a":1,"b":["x",2]}}`, 422, "invalid_request", []string{"headers.a", "headers.b[1]"}},
		{"headers not an object", `{"method":"GET","path":"/","headers":[]}`, 422, "invalid_request", []string{"headers"}},
		{"malformed", `{"method":`, 400, "malformed_json", []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := expect(t, e.do("POST", "/v1/evaluate", adminToken, tc.body), tc.status, tc.code)
			if got := detailFields(m); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("detail fields = %v, want %v", got, tc.fields)
			}
		})
	}
}
