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
		{"unknown field", `{"method":"GET","path":"/","payload":"x"}`, 422, "invalid_request", []string{"payload"}},
		{"body and time of the wrong types", `{"method":"GET","path":"/","body":1,"at":"yesterday"}`, 422, "invalid_request", []string{"body", "at"}},
		{"header value not a string", `{"method":"GET","path":"/","headers":{"a":1,"b":["x",2]}}`, 422, "invalid_request", []string{"headers.a", "headers.b[1]"}},
		{"headers not an object", `{"method":"GET","path":"/","headers":[]}`, 422, "invalid_request", []string{"headers"}},
		{"address and origin not strings", `{"method":"GET","path":"/","client_address":5,"origin":["https://a.example"]}`, 422, "invalid_request", []string{"client_address", "origin"}},
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

// The admin and staff flags and permissions set through the key API reach the engine: a key
// created with admin:true passes a route guard "admin": true, one without is refused 403
// insufficient_scope, and a PATCH of the flag changes the answer.
func TestEvaluateKeyGuards(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		expect(t, e.do("PUT", "/v1/policy", adminToken, `{"version":1,"routes":[
			{"name":"admin","match":{"path_prefix":"/admin"},"auth":{"type":"api_key"},"admin":true},
			{"name":"staff","match":{"path_prefix":"/staff"},"auth":{"type":"api_key"},"staff":true},
			{"name":"reports","match":{"path_prefix":"/reports"},"auth":{"type":"api_key"},
			 "permissions":{"all":["reports:read"],"any":["eu","us"],"reveal_missing":true}}]}`, "If-Match", "*"), http.StatusOK, "")
		adminKey, adminRaw := e.createKey(map[string]any{"name": "root", "admin": true})
		staffKey, staffRaw := e.createKey(map[string]any{"name": "ops", "staff": true, "permissions": []string{"reports:read", "eu"}})
		plain, plainRaw := e.createKey(map[string]any{"name": "plain"})
		adminID, staffID, plainID := adminKey["id"].(string), staffKey["id"].(string), plain["id"].(string)

		const scope = `Bearer realm="portcullis", error="insufficient_scope"`
		type want struct {
			allow     bool
			keyID     string
			body      map[string]any // the denial body, for a denial
			setHeader [2]string      // one identity header the upstream gets, for an allowed request
		}
		denied := func(keyID string, extra map[string]any) want {
			b := map[string]any{"error": "the credential lacks a permission this route requires", "code": "insufficient_scope"}
			for k, v := range extra {
				b[k] = v
			}
			return want{keyID: keyID, body: b}
		}
		check := func(t *testing.T, path, raw string, w want) {
			t.Helper()
			m := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, map[string]any{"method": "GET", "path": path,
				"headers": map[string]any{"x-api-key": raw}}), http.StatusOK, "")
			if m["allow"] != w.allow || m["key_id"] != w.keyID {
				t.Fatalf("GET %s: allow %v key %v, want %v %v (%v)", path, m["allow"], m["key_id"], w.allow, w.keyID, m)
			}
			if w.allow {
				if m["check"] != "allow" || !containsPair(m["set_headers"], w.setHeader) {
					t.Fatalf("GET %s: %v, want set_headers with %v", path, m, w.setHeader)
				}
				return
			}
			if m["status"] != 403.0 || m["code"] != "insufficient_scope" || m["check"] != "guard" ||
				!containsPair(m["headers"], [2]string{"www-authenticate", scope}) || !reflect.DeepEqual(m["body"], w.body) {
				t.Fatalf("GET %s: %v, want 403 insufficient_scope with body %v and WWW-Authenticate %s", path, m, w.body, scope)
			}
		}
		for _, tc := range []struct {
			name, path, raw string
			want            want
		}{
			{"admin key on the admin route", "/admin/users", adminRaw, want{allow: true, keyID: adminID, setHeader: [2]string{"x-portcullis-key-id", adminID}}},
			{"key without flags on the admin route", "/admin/users", plainRaw, denied(plainID, nil)},
			{"staff key on the admin route", "/admin", staffRaw, denied(staffID, nil)},
			{"staff key on the staff route", "/staff", staffRaw, want{allow: true, keyID: staffID, setHeader: [2]string{"x-portcullis-key-name", "ops"}}},
			{"admin is not staff", "/staff", adminRaw, denied(adminID, nil)},
			{"all and any permissions held", "/reports/q1", staffRaw, want{allow: true, keyID: staffID, setHeader: [2]string{"x-portcullis-permissions", "reports:read,eu"}}},
			{"permissions missing, named", "/reports/q1", plainRaw, denied(plainID, map[string]any{"missing": []any{"reports:read"}, "missing_any_of": []any{"eu", "us"}})},
		} {
			t.Run(tc.name, func(t *testing.T) { check(t, tc.path, tc.raw, tc.want) })
		}

		// Granting the flag through the API opens the route; taking it away closes it again.
		r := e.do("PATCH", "/v1/keys/"+plainID, adminToken, map[string]any{"admin": true})
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		check(t, "/admin/users", plainRaw, want{allow: true, keyID: plainID, setHeader: [2]string{"x-portcullis-key-id", plainID}})
		r = e.do("PATCH", "/v1/keys/"+plainID, adminToken, map[string]any{"admin": false})
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		check(t, "/admin/users", plainRaw, denied(plainID, nil))
	})
}

// containsPair reports whether a decoded [][2]string holds the pair.
func containsPair(list any, pair [2]string) bool {
	items, _ := list.([]any)
	for _, it := range items {
		if p, ok := it.([]any); ok && len(p) == 2 && p[0] == pair[0] && p[1] == pair[1] {
			return true
		}
	}
	return false
}
