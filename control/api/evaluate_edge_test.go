package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// edgePolicy has a global deny list, a route with an allow list, CORS and security headers
// that remove the upstream's server header, a public route with the default security headers,
// and an admin-only route.
const edgePolicy = `{"version":1,"ip_deny":["198.51.100.0/24"],"routes":[
	{"name":"web","match":{"hosts":["api.example.com"],"path_prefix":"/web"},"auth":{"type":"api_key"},
	 "ip_allow":["192.0.2.0/24","2001:db8::/32"],
	 "cors":{"allowed_origins":["https://app.example.com"],"allowed_methods":["GET","PUT"],"allowed_headers":["content-type"],
	         "exposed_headers":["x-trace-id"],"allow_credentials":true,"max_age_seconds":600},
	 "security_headers":{"remove":["server"]}},
	{"name":"public","match":{"path_prefix":"/public"},"auth":{"type":"none"},"security_headers":{}},
	{"name":"admin","match":{"path_prefix":"/admin"},"auth":{"type":"api_key"},"admin":true,"security_headers":{}}]}`

// The security headers of "security_headers": {} as the filter adds them.
const securityPairs = `["strict-transport-security","max-age=31536000; includeSubDomains"],["x-content-type-options","nosniff"],
	["x-frame-options","DENY"],["referrer-policy","strict-origin-when-cross-origin"]`

const securityEdits = `{"action":"add","name":"strict-transport-security","value":"max-age=31536000; includeSubDomains"},
	{"action":"add","name":"x-content-type-options","value":"nosniff"},{"action":"add","name":"x-frame-options","value":"DENY"},
	{"action":"add","name":"referrer-policy","value":"strict-origin-when-cross-origin"}`

// POST /v1/evaluate shows what the filter does at the edge: a CORS preflight it answers itself
// (204, not a denial), a client refused by its address, the edits it makes to the upstream's
// response headers, and a guard refusal that carries the route's security headers.
func TestEvaluateEdge(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		expect(t, e.do("PUT", "/v1/policy", adminToken, edgePolicy, "If-Match", "*"), http.StatusOK, "")
		k, raw := e.createKey(map[string]any{"name": "web"})
		id := k["id"].(string)
		for _, tc := range []struct {
			name string
			req  map[string]any
			want string // the whole evaluation but snapshot_version; $KEY is the key's id
		}{
			{"preflight answered locally",
				map[string]any{"method": "OPTIONS", "host": "api.example.com", "path": "/web/items/7", "client_address": "192.0.2.10:51000",
					"origin": "https://app.example.com", "headers": map[string]any{"access-control-request-method": "PUT", "access-control-request-headers": "Content-Type"}},
				`{"allow":false,"local":true,"status":204,"route":"web","key_id":"","check":"cors","headers":[
				  ["access-control-allow-origin","https://app.example.com"],["access-control-allow-methods","GET, PUT"],
				  ["access-control-allow-headers","content-type"],["access-control-allow-credentials","true"],["access-control-max-age","600"],
				  ["vary","Origin, Access-Control-Request-Method, Access-Control-Request-Headers"],` + securityPairs + `]}`},
			{"preflight from another origin",
				map[string]any{"method": "OPTIONS", "host": "api.example.com", "path": "/web/items/7", "client_address": "192.0.2.10:51000",
					"origin": "https://app.example.com.evil.com", "headers": map[string]any{"access-control-request-method": "PUT"}},
				`{"allow":false,"status":403,"code":"cors_rejected","route":"web","key_id":"","check":"cors",
				  "body":{"error":"this cross-origin request is not allowed","code":"cors_rejected"},
				  "headers":[["content-type","application/json"],["cache-control","no-store"],` + securityPairs + `,["vary","Origin"]]}`},
			{"client outside the route's allow list",
				map[string]any{"method": "GET", "host": "api.example.com", "path": "/web/items", "client_address": "203.0.113.5:1234",
					"headers": map[string]any{"x-api-key": raw}},
				`{"allow":false,"status":403,"code":"ip_denied","route":"web","key_id":"","check":"client",
				  "body":{"error":"requests from this address are not allowed","code":"ip_denied"},
				  "headers":[["content-type","application/json"],["cache-control","no-store"],` + securityPairs + `,["vary","Origin"]]}`},
			{"client in the global deny list, IPv4-mapped",
				map[string]any{"method": "GET", "path": "/public", "client_address": "[::ffff:198.51.100.7]:443"},
				`{"allow":false,"status":403,"code":"ip_denied","route":"public","key_id":"","check":"client",
				  "body":{"error":"requests from this address are not allowed","code":"ip_denied"},
				  "headers":[["content-type","application/json"],["cache-control","no-store"],` + securityPairs + `]}`},
			{"no client address where a list applies",
				map[string]any{"method": "GET", "path": "/public"},
				`{"allow":false,"status":403,"code":"ip_denied","route":"public","key_id":"","check":"client",
				  "body":{"error":"requests from this address are not allowed","code":"ip_denied"},
				  "headers":[["content-type","application/json"],["cache-control","no-store"],` + securityPairs + `]}`},
			{"allowed, with response edits for an allowed origin",
				map[string]any{"method": "GET", "host": "api.example.com", "path": "/web/items", "client_address": "[2001:db8::5]:443",
					"origin": "https://app.example.com", "headers": map[string]any{"x-api-key": raw}},
				`{"allow":true,"route":"web","key_id":"$KEY","check":"allow","max_body_bytes":10485760,
				  "set_headers":[["x-portcullis-auth","api_key"],["x-portcullis-key-id","$KEY"],["x-portcullis-key-name","web"]],
				  "response_headers":[` + securityEdits + `,{"action":"remove","name":"server"},
				    {"action":"set","name":"access-control-allow-origin","value":"https://app.example.com"},
				    {"action":"set","name":"access-control-allow-credentials","value":"true"},
				    {"action":"vary","name":"vary","value":"Origin"},
				    {"action":"set","name":"access-control-expose-headers","value":"x-trace-id"}]}`},
			{"allowed public request, security headers only",
				map[string]any{"method": "GET", "path": "/public/a", "client_address": "192.0.2.1"},
				`{"allow":true,"route":"public","key_id":"","check":"allow","max_body_bytes":10485760,"response_headers":[` + securityEdits + `]}`},
			{"guard refusal carries the security headers",
				map[string]any{"method": "GET", "path": "/admin", "client_address": "192.0.2.1", "headers": map[string]any{"authorization": "Bearer " + raw}},
				`{"allow":false,"status":403,"code":"insufficient_scope","route":"admin","key_id":"$KEY","check":"guard",
				  "body":{"error":"the credential lacks a permission this route requires","code":"insufficient_scope"},
				  "headers":[["content-type","application/json"],["cache-control","no-store"],
				    ["www-authenticate","Bearer realm=\"portcullis\", error=\"insufficient_scope\""],` + securityPairs + `]}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/evaluate", e.readOnly, tc.req)
				got := expect(t, r, http.StatusOK, "")
				if got["snapshot_version"] != float64(e.pub.Current().Version) {
					t.Fatalf("snapshot_version = %v", got["snapshot_version"])
				}
				delete(got, "snapshot_version")
				var want map[string]any
				if err := json.Unmarshal([]byte(strings.ReplaceAll(tc.want, "$KEY", id)), &want); err != nil {
					t.Fatalf("test case: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("evaluation =\n%s\nwant\n%s", r.body, strings.ReplaceAll(tc.want, "$KEY", id))
				}
			})
		}
	})
}
