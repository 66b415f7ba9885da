package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/shared/policy"
)

// everyField is a policy that sets every route and top-level field of the guards, IP lists,
// CORS and security headers, each to a value other than its default, written exactly as the
// API normalizes it (every default filled in, header names lower case), so what is read back
// must be byte-for-byte the same document.
const everyField = `{
  "version": 1,
  "default_action": "deny",
  "default_limits": {"max_header_count": 100, "max_header_bytes": 61440, "max_header_value_bytes": 8192, "max_body_bytes": 10485760},
  "trusted_proxy_hops": 2,
  "ip_allow": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
  "ip_deny": ["10.9.0.0/16", "::ffff:198.51.100.0/120"],
  "routes": [
    {"name": "api", "match": {"hosts": ["api.example.com"], "path_prefix": "/api", "methods": ["GET", "POST"]},
     "auth": {"type": "api_key"}, "hide_credentials": true,
     "limits": {"max_header_count": 50, "max_header_bytes": 4096, "max_header_value_bytes": 1024, "max_body_bytes": 2048},
     "permissions": {"all": ["reports:read", "reports:list"], "any": ["eu", "us"], "reveal_missing": true},
     "admin": true, "staff": true,
     "ip_allow": ["203.0.113.0/24", "2001:db8:1::/48"], "ip_deny": ["203.0.113.9"],
     "cors": {"allowed_origins": ["https://app.example.com", "https://*.example.org:8443", "null"],
              "allowed_methods": ["GET", "PUT"], "allowed_headers": ["content-type", "x-request-id"],
              "exposed_headers": ["x-trace-id"], "allow_credentials": true, "max_age_seconds": 600,
              "allow_private_network": true},
     "security_headers": {"mode": "override", "hsts": {"max_age_seconds": 63072000, "include_subdomains": true, "preload": true},
              "content_type_options": "nosniff", "frame_options": "SAMEORIGIN", "referrer_policy": "no-referrer",
              "content_security_policy": "default-src 'none'", "permissions_policy": "geolocation=()",
              "remove": ["server", "x-powered-by"]}},
    {"name": "public", "match": {"path_prefix": "/public"}, "auth": {"type": "none"},
     "limits": {"max_header_count": 100, "max_header_bytes": 61440, "max_header_value_bytes": 8192, "max_body_bytes": 10485760},
     "cors": {"allowed_origins": ["*"], "allowed_methods": ["GET"], "allowed_headers": ["*"]},
     "security_headers": {"mode": "add", "hsts": null, "content_type_options": "", "frame_options": "", "referrer_policy": ""}}
  ]
}`

// The policy API accepts every route and top-level field of the guards, IP lists, CORS and
// security headers, returns them unchanged, and publishes them in the snapshot.
func TestPolicyEveryField(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		var want any
		if err := json.Unmarshal([]byte(everyField), &want); err != nil {
			t.Fatal(err)
		}
		r := e.do("PUT", "/v1/policy", adminToken, everyField, "If-Match", "*")
		put := expect(t, r, http.StatusOK, "")
		published := versionHeader(t, r)
		if !reflect.DeepEqual(any(put), want) {
			t.Fatalf("PUT answered\n%s\nwant the document as sent", r.body)
		}
		got := e.do("GET", "/v1/policy", e.readOnly, nil)
		if !reflect.DeepEqual(any(got.json(t)), want) {
			t.Fatalf("GET /v1/policy =\n%s\nwant the document as sent", got.body)
		}
		// The same document again is no change.
		r = e.do("PUT", "/v1/policy", adminToken, got.body, "If-Match", "*")
		if expect(t, r, http.StatusOK, ""); versionHeader(t, r) != 0 {
			t.Fatal("the policy as read back is not the policy stored: PUT published a new version")
		}

		// The filter receives the same policy: the snapshot decodes to what the document says.
		doc, err := policy.Parse([]byte(everyField))
		if err != nil {
			t.Fatal(err)
		}
		e.waitVersion(published)
		s := e.snapshotNow().Policy
		if !reflect.DeepEqual(s.Routes, doc.Routes) || s.TrustedProxyHops != 2 ||
			!reflect.DeepEqual(s.IPAllow, doc.IPAllow) || !reflect.DeepEqual(s.IPDeny, doc.IPDeny) {
			t.Fatalf("snapshot policy =\n%+v\nwant\n%+v", s, doc)
		}
	})
}

// A section given short is stored and shown with its defaults written out: "security_headers": {}
// as the headers it stands for, CORS methods as GET, HEAD, POST, header names in lower case.
func TestPolicyNormalizesNewSections(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	r := e.do("PUT", "/v1/policy", adminToken, withRoute(`"cors":{"allowed_origins":["https://a.example"],"allowed_headers":["Content-Type"]},"security_headers":{}`), "If-Match", "*")
	route := expect(t, r, http.StatusOK, "")["routes"].([]any)[0].(map[string]any)
	var want map[string]any
	json.Unmarshal([]byte(`{
		"cors": {"allowed_origins": ["https://a.example"], "allowed_methods": ["GET", "HEAD", "POST"], "allowed_headers": ["content-type"]},
		"security_headers": {"mode": "add", "hsts": {"max_age_seconds": 31536000, "include_subdomains": true},
			"content_type_options": "nosniff", "frame_options": "DENY", "referrer_policy": "strict-origin-when-cross-origin"}}`), &want)
	for _, k := range []string{"cors", "security_headers"} {
		if !reflect.DeepEqual(route[k], want[k]) {
			t.Errorf("%s stored as %v, want %v", k, route[k], want[k])
		}
	}
}
