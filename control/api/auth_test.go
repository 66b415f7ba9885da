package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
)

func TestAuthentication(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		revoked, raw, err := e.svc.CreateToken(bg, auth.System(), store.KindAdmin, admin.NewToken{Name: "old", Role: store.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RevokeToken(bg, auth.System(), store.KindAdmin, revoked.ID); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, method, path string
			header             []string
			status             int
			code               string
		}{
			{"no token", "GET", "/v1/keys", nil, 401, "unauthorized"},
			{"other scheme", "GET", "/v1/keys", []string{"Authorization", "Basic " + adminToken}, 401, "unauthorized"},
			{"empty bearer", "GET", "/v1/keys", []string{"Authorization", "Bearer "}, 401, "unauthorized"},
			{"unknown token", "GET", "/v1/keys", []string{"Authorization", "Bearer pca_unknown_token_000000"}, 401, "unauthorized"},
			{"revoked token", "GET", "/v1/keys", []string{"Authorization", "Bearer " + raw}, 401, "unauthorized"},
			{"two authorization headers", "GET", "/v1/keys", []string{"Authorization", "Bearer " + adminToken, "Authorization", "Bearer " + adminToken}, 401, "unauthorized"},
			{"token in X-API-Key is not a bearer token", "GET", "/v1/keys", []string{"X-API-Key", adminToken}, 401, "unauthorized"},
			{"admin token", "GET", "/v1/keys", []string{"Authorization", "bearer " + adminToken}, 200, ""},
			{"data-plane token on the admin API", "GET", "/v1/keys", []string{"Authorization", "Bearer " + dataplaneToken}, 403, "forbidden"},
			{"data-plane token on evaluate", "POST", "/v1/evaluate", []string{"Authorization", "Bearer " + dataplaneToken}, 403, "forbidden"},
			{"read-only token reads", "GET", "/v1/keys", []string{"Authorization", "Bearer " + e.readOnly}, 200, ""},
			{"read-only token audits", "GET", "/v1/audit", []string{"Authorization", "Bearer " + e.readOnly}, 200, ""},
			{"read-only token cannot create keys", "POST", "/v1/keys", []string{"Authorization", "Bearer " + e.readOnly}, 403, "forbidden"},
			{"read-only token cannot change policy", "PUT", "/v1/policy", []string{"Authorization", "Bearer " + e.readOnly}, 403, "forbidden"},
			{"read-only token cannot create tokens", "POST", "/v1/admin-tokens", []string{"Authorization", "Bearer " + e.readOnly}, 403, "forbidden"},
			{"read-only token cannot revoke tokens", "DELETE", "/v1/admin-tokens/x", []string{"Authorization", "Bearer " + e.readOnly}, 403, "forbidden"},
			{"admin token cannot poll snapshots", "GET", "/v1/snapshot", []string{"Authorization", "Bearer " + adminToken}, 403, "forbidden"},
			{"no token on snapshot", "GET", "/v1/snapshot", nil, 401, "unauthorized"},
			{"public key with a data-plane token", "GET", "/v1/snapshot/public-key", []string{"Authorization", "Bearer " + dataplaneToken}, 200, ""},
			{"public key with a read-only token", "GET", "/v1/snapshot/public-key", []string{"Authorization", "Bearer " + e.readOnly}, 200, ""},
			{"public key without a token", "GET", "/v1/snapshot/public-key", nil, 401, "unauthorized"},
			{"health needs no token", "GET", "/healthz", nil, 200, ""},
			{"OpenAPI needs no token", "GET", "/v1/openapi.json", nil, 200, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.method, tc.path, "", nil, tc.header...)
				if tc.method == "POST" && tc.status == 200 {
					tc.status = 422 // authorized, then the empty body is refused
				}
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if tc.code != "" {
					expect(t, r, tc.status, tc.code)
				}
				if tc.status == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="portcullis-control"` {
					t.Fatalf("401 without WWW-Authenticate: %v", r.header)
				}
			})
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, r := range []response{
		e.do("GET", "/v1/keys", adminToken, nil),
		e.do("GET", "/v1/keys", "", nil),
		e.do("GET", "/nope", "", nil),
		e.do("GET", "/healthz", "", nil),
		e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil),
	} {
		for name, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := r.header.Get(name); got != want {
				t.Errorf("status %d response: %s = %q, want %q", r.status, name, got, want)
			}
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	expect(t, e.do("GET", "/v2/keys", adminToken, nil), http.StatusNotFound, "not_found")
}

// TestMethodNotAllowed: a 405 says which methods the endpoint has, in Allow (RFC 9110 15.5.6),
// with or without a token.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, tc := range []struct{ method, path, token, allow string }{
		{"PUT", "/v1/keys", adminToken, "GET, POST"},
		{"POST", "/healthz", "", "GET"},
		{"DELETE", "/v1/policy", adminToken, "GET, PUT"},
		{"PUT", "/v1/keys/key_x", adminToken, "GET, PATCH, DELETE"},
		{"POST", "/v1/snapshot", "", "GET"},
		{"PATCH", "/v1/openapi.json", "", "GET"},
	} {
		r := e.do(tc.method, tc.path, tc.token, nil)
		m := expect(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if !strings.Contains(m["error"].(string), tc.allow) {
			t.Errorf("%s %s: message %q does not name the methods", tc.method, tc.path, m["error"])
		}
	}
}
