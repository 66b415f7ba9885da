// Package scenario is the table of filter scenarios that every leg runs: the engine natively,
// the filter natively under the SDK's host emulator, the compiled .wasm under that emulator,
// and the compiled .wasm behind the local gateway with a real HTTP client. One table keeps the
// legs honest: a decision that differs between them is a bug in the leg, not in the table.
package scenario

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Test keys. They are fixtures for this table only and protect nothing.
const (
	KeyFull     = "pcs_test_full_access_000000000001"
	KeyBuilds   = "pcs_test_builds_only_00000000002"
	KeyInactive = "pcs_test_inactive_000000000000003"
	KeyExpired  = "pcs_test_expired_0000000000000004"
	KeyUnknown  = "pcs_test_unknown_0000000000000005"
	KeyOps      = "pcs_test_ops_admin_00000000000006"
	KeyDev      = "pcs_test_dev_staff_00000000000007"
)

func hash(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}

// Policy is the policy document the scenarios run against.
var Policy = fmt.Sprintf(`{
  "version": 1,
  "default_action": "deny",
  "routes": [
    {"name": "health", "match": {"path_prefix": "/healthz", "methods": ["GET"]}, "auth": {"type": "none"}},
    {"name": "public", "match": {"path_prefix": "/public/"}, "auth": {"type": "none"}},
    {"name": "reports", "match": {"hosts": ["api.example.com"], "path_prefix": "/v1/reports"}, "auth": {"type": "api_key"},
     "permissions": {"any": ["reports:read", "reports:admin"]}, "security_headers": {}},
    {"name": "ops", "match": {"hosts": ["api.example.com"], "path_prefix": "/v1/ops"}, "auth": {"type": "api_key"},
     "admin": true, "permissions": {"all": ["ops:run"], "reveal_missing": true}},
    {"name": "internal", "match": {"path_prefix": "/internal"}, "auth": {"type": "none"},
     "ip_allow": ["127.0.0.0/29", "::1"], "ip_deny": ["127.0.0.2"]},
    {"name": "app", "match": {"hosts": ["app.example.com"], "path_prefix": "/"}, "auth": {"type": "api_key"},
     "cors": {"allowed_origins": ["https://web.example.com", "https://*.partner.example"], "allowed_methods": ["GET", "POST", "DELETE"],
              "allowed_headers": ["content-type", "x-trace"], "exposed_headers": ["x-request-id"], "allow_credentials": true, "max_age_seconds": 600},
     "security_headers": {"mode": "override", "hsts": null, "remove": ["server", "x-powered-by"]}},
    {"name": "api", "match": {"hosts": ["api.example.com", "*.api.example.com"], "path_prefix": "/v1"},
     "auth": {"type": "api_key"}, "hide_credentials": true,
     "limits": {"max_header_count": 20, "max_header_bytes": 4096, "max_header_value_bytes": 1024, "max_body_bytes": 1024}},
    {"name": "edge", "match": {"hosts": ["edge.example.com"], "path_prefix": "/"}, "auth": {"type": "api_key"},
     "permissions": {"all": ["ops:run"]}, "ip_allow": ["127.0.0.0/8", "::1"],
     "cors": {"allowed_origins": ["https://web.example.com"]}, "security_headers": {}},
    {"name": "hooks", "match": {"path_prefix": "/hooks/github", "methods": ["POST"]}, "auth": {"type": "webhook", "webhook": "github"},
     "limits": {"max_body_bytes": 4096}},
    {"name": "limited", "match": {"hosts": ["limits.example.com"], "path_prefix": "/"}, "auth": {"type": "api_key"},
     "rate_limits": [{"by": "api_key", "rate": 1, "per": "hour", "burst": 2}, {"by": "header:x-tenant", "rate": 10, "per": "second", "burst": 100}]},
    {"name": "jwt-reports", "match": {"hosts": ["jwt.example.com"], "path_prefix": "/reports"}, "auth": {"type": "jwt", "provider": "idp"},
     "permissions": {"any": ["reports:read"]}},
    {"name": "jwt-ops", "match": {"hosts": ["jwt.example.com"], "path_prefix": "/ops"}, "auth": {"type": "jwt", "provider": "idp"},
     "admin": true, "staff": true},
    {"name": "jwt", "match": {"hosts": ["jwt.example.com"], "path_prefix": "/"}, "auth": {"type": "jwt", "provider": "idp"},
     "hide_credentials": true, "limits": {"max_header_bytes": 131072, "max_header_value_bytes": 65536}},
    {"name": "either", "match": {"hosts": ["either.example.com"], "path_prefix": "/"}, "auth": {"type": "api_key_or_jwt", "provider": "idp"}},
    {"name": "jwt-cookie", "match": {"hosts": ["cookie.example.com"], "path_prefix": "/"}, "auth": {"type": "jwt", "provider": "strict"}},
    {"name": "jwt-header-ops", "match": {"hosts": ["header.example.com"], "path_prefix": "/ops"}, "auth": {"type": "jwt", "provider": "single"},
     "admin": true, "staff": true},
    {"name": "jwt-header", "match": {"hosts": ["header.example.com"], "path_prefix": "/"}, "auth": {"type": "jwt", "provider": "single"}},
    {"name": "admin", "match": {"hosts": ["admin.example.com"], "path_prefix": "/"}, "auth": {"type": "api_key"}}
  ],
  "webhooks": [{"name": "github", "preset": "github", "secret": %q, "next_secret": %q}],
  "keys": [
    {"id": "k-full", "name": "Full Access", "sha256": %q},
    {"id": "k-builds", "name": "Builds", "sha256": %q, "allowed_paths": ["/v1/builds"], "permissions": ["builds:read"]},
    {"id": "k-inactive", "sha256": %q, "active": false},
    {"id": "k-expired", "sha256": %q, "expires_at": "2020-01-01T00:00:00Z"},
    {"id": "k-ops", "name": "Ops", "sha256": %q, "permissions": ["ops:run", "reports:read"], "admin": true},
    {"id": "k-dev", "sha256": %q, "permissions": ["deploy:run", "ops:run"], "staff": true}
  ],
  "jwt_providers": %s,
  "revoked_tokens": [{"jti": %q, "expires_at": "2100-01-01T00:00:00Z"}]
}`, WebhookSecret, WebhookNextSecret, hash(KeyFull), hash(KeyBuilds), hash(KeyInactive), hash(KeyExpired), hash(KeyOps), hash(KeyDev), JWTProviders, RevokedJTI)

// RevokedJTI is the token id the scenario policy revokes.
const RevokedJTI = "jti-revoked"

// Webhook secrets of the scenario policy's github verifier. Fixtures; they protect nothing.
const (
	WebhookSecret     = "scenario-webhook-secret-0001"
	WebhookNextSecret = "scenario-webhook-secret-0002"
)

// GitHubSignature is the X-Hub-Signature-256 value for body under secret.
func GitHubSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// UpstreamResponse are the response headers every leg's upstream answers with, so the
// filter's response edits (security and CORS headers) can be observed.
var UpstreamResponse = [][2]string{{"server", "upstream/1.0"}, {"x-powered-by", "scenario"}, {"x-frame-options", "SAMEORIGIN"}, {"x-request-id", "r-1"}}

// DefaultSource is the client address of a request that names none.
const DefaultSource = "127.0.0.1:40000"

// PluginConfig is the filter's plugin configuration holding Policy inline.
var PluginConfig = []byte(`{"policy": ` + Policy + `}`)

// Request is one request as a client sends it.
type Request struct {
	Method    string
	Authority string
	Path      string
	Headers   [][2]string // regular headers, lower-case names
	// Body is sent in BodyChunks equal chunks (at least one) without a content-length header
	// unless Headers has one, so the filter must count the streamed body.
	Body       []byte
	BodyChunks int
	// Source is the client's address ("ip:port"); DefaultSource when empty. Loopback
	// addresses only, so the gateway leg can send from them.
	Source string
}

// Want is what the client and the upstream observe.
type Want struct {
	// Status is the local reply's status, or 0 when the request must reach the upstream.
	Status int
	Code   string
	// Headers the local reply must carry.
	Headers [][2]string
	// Upstream headers the upstream must see with these exact values (allowed requests).
	Upstream [][2]string
	// Absent headers the upstream must not see.
	Absent []string
	// BodyContains is text the local reply's body must contain.
	BodyContains string
	// HeadersAbsent are headers the local reply must not carry.
	HeadersAbsent []string
	// Response headers the client must receive from the upstream with these exact values, and
	// ResponseAbsent those it must not (allowed requests).
	Response       [][2]string
	ResponseAbsent []string
}

// Case is one scenario.
type Case struct {
	Name string
	Req  Request
	Want Want
}

func get(authority, path string, headers ...[2]string) Request {
	return Request{Method: "GET", Authority: authority, Path: path, Headers: headers}
}

func h(name, value string) [2]string { return [2]string{name, value} }

func many(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		out[i] = h(fmt.Sprintf("x-extra-%d", i), "v")
	}
	return out
}

const api = "api.example.com"

func from(source string, r Request) Request { r.Source = source; return r }

func post(path string, body []byte, chunks int, headers ...[2]string) Request {
	return Request{Method: "POST", Authority: "hooks.example.com", Path: path, Headers: headers, Body: body, BodyChunks: chunks}
}

var (
	hookBody    = []byte(`{"action":"opened","number":42,"pull_request":{"title":"Fix \u00e9t\u00e9 "}}` + strings.Repeat(" ", 300))
	bigHookBody = []byte(strings.Repeat("x", 5000))
)

func options(authority, path string, headers ...[2]string) Request {
	return Request{Method: "OPTIONS", Authority: authority, Path: path, Headers: headers}
}

const (
	app        = "app.example.com"
	webOrigin  = "https://web.example.com"
	scopeError = `Bearer realm="portcullis", error="insufficient_scope"`
)

// corsAllowed are the CORS headers an allowed origin gets on the app route.
var corsAllowed = [][2]string{{"access-control-allow-origin", webOrigin}, {"access-control-allow-credentials", "true"}, {"vary", "Origin"}}

// corsNone are the headers no disallowed or absent origin gets.
var corsNone = []string{"access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers"}

var bearerRealm = [][2]string{{"www-authenticate", `Bearer realm="portcullis"`}}

// identity is what the upstream sees for k-full on the api route (credential hidden).
var identity = Want{
	Upstream: [][2]string{{"x-portcullis-key-id", "k-full"}, {"x-portcullis-key-name", "Full Access"}},
	Absent:   []string{"x-api-key", "authorization"},
}

// Cases is the scenario table.
var Cases = []Case{
	{"public route needs no key", get("any.host", "/healthz"), Want{Absent: []string{"x-portcullis-key-id"}}},
	{"query is ignored by route match", get("any.host", "/healthz?verbose=1"), Want{}},
	{"method outside the route is unmatched", Request{Method: "POST", Authority: "x", Path: "/healthz"}, Want{Status: 403, Code: "no_route"}},
	{"unknown host falls to the default deny", get("other.example.org", "/v1/x", h("x-api-key", KeyFull)), Want{Status: 403, Code: "no_route"}},
	{"missing key", get(api, "/v1/builds"), Want{Status: 401, Code: "missing_credentials", Headers: bearerRealm}},
	{"x-api-key accepted", get(api, "/v1/builds", h("x-api-key", KeyFull)), identity},
	{"bearer scheme is case-insensitive", get(api, "/v1/builds", h("authorization", "bEaReR "+KeyFull)), identity},
	{"wildcard host", get("eu.api.example.com", "/v1/x", h("x-api-key", KeyFull)), identity},
	{"host with port and upper case", get("API.Example.COM:8443", "/v1/x", h("x-api-key", KeyFull)), identity},
	{"credential kept when hide_credentials is off", get("admin.example.com", "/users", h("x-api-key", KeyFull)),
		Want{Upstream: [][2]string{{"x-api-key", KeyFull}, {"x-portcullis-key-id", "k-full"}}}},
	{"unknown key", get(api, "/v1/x", h("x-api-key", KeyUnknown)), Want{Status: 401, Code: "invalid_credentials"}},
	{"inactive key", get(api, "/v1/x", h("x-api-key", KeyInactive)), Want{Status: 401, Code: "invalid_credentials"}},
	{"expired key", get(api, "/v1/x", h("authorization", "Bearer "+KeyExpired)), Want{Status: 401, Code: "invalid_credentials"}},
	{"empty bearer token", get(api, "/v1/x", h("authorization", "Bearer ")), Want{Status: 401, Code: "invalid_credentials"}},
	{"basic auth is not a key", get(api, "/v1/x", h("authorization", "Basic dXNlcjpwdw==")), Want{Status: 401, Code: "unsupported_auth_scheme"}},
	{"both credential headers", get(api, "/v1/x", h("authorization", "Bearer "+KeyFull), h("x-api-key", KeyFull)), Want{Status: 400, Code: "ambiguous_credentials"}},
	{"repeated x-api-key", get(api, "/v1/x", h("x-api-key", KeyUnknown), h("x-api-key", KeyFull)), Want{Status: 400, Code: "duplicate_credentials"}},
	{"authorization folded by the proxy", get(api, "/v1/x", h("authorization", "Bearer "+KeyUnknown+", Bearer "+KeyFull)), Want{Status: 400, Code: "duplicate_credentials"}},
	{"repeated authorization", get(api, "/v1/x", h("authorization", "Bearer "+KeyFull), h("authorization", "Bearer "+KeyFull)), Want{Status: 400, Code: "duplicate_credentials"}},
	{"key inside its allowed paths", get(api, "/v1/builds/42", h("x-api-key", KeyBuilds)), Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-builds"}}}},
	{"key outside its allowed paths", get(api, "/v1/users", h("x-api-key", KeyBuilds)), Want{Status: 403, Code: "path_not_allowed"}},
	{"allowed paths match whole segments", get(api, "/v1/buildsx", h("x-api-key", KeyBuilds)), Want{Status: 403, Code: "path_not_allowed"}},
	{"spoofed identity removed on a public route", get("x", "/public/a", h("x-portcullis-key-id", "k-full"), h("X-Portcullis-Anything", "1")),
		Want{Absent: []string{"x-portcullis-key-id", "x-portcullis-anything"}}},
	{"spoofed identity grants nothing", get(api, "/v1/x", h("x-portcullis-key-id", "admin"), h("x-api-key", KeyBuilds)),
		Want{Status: 403, Code: "path_not_allowed"}},
	{"spoofed identity replaced with the real one", get(api, "/v1/builds", h("x-portcullis-key-id", "admin"), h("x-portcullis-key-name", "evil"), h("x-api-key", KeyBuilds)),
		Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-builds"}, {"x-portcullis-key-name", "Builds"}}}},
	{"too many headers", get(api, "/v1/x", append(many(20), h("x-api-key", KeyFull))...), Want{Status: 431, Code: "too_many_headers"}},
	{"header value too large", get(api, "/v1/x", h("x-api-key", KeyFull), h("x-big", strings.Repeat("a", 1025))), Want{Status: 431, Code: "header_value_too_large"}},
	{"headers too large", get(api, "/v1/x", h("x-api-key", KeyFull), h("x-a", strings.Repeat("a", 1000)), h("x-b", strings.Repeat("b", 1000)),
		h("x-c", strings.Repeat("c", 1000)), h("x-d", strings.Repeat("d", 1000)), h("x-e", strings.Repeat("e", 1000))), Want{Status: 431, Code: "headers_too_large"}},
	{"declared body too large", Request{Method: "POST", Authority: api, Path: "/v1/upload", Headers: [][2]string{h("x-api-key", KeyFull), h("content-length", "2048")}},
		Want{Status: 413, Code: "body_too_large"}},
	{"invalid content-length", Request{Method: "POST", Authority: api, Path: "/v1/upload", Headers: [][2]string{h("x-api-key", KeyFull), h("content-length", "12abc")}},
		Want{Status: 400, Code: "invalid_content_length"}},
	{"streamed body too large", Request{Method: "POST", Authority: api, Path: "/v1/upload", Headers: [][2]string{h("x-api-key", KeyFull)},
		Body: []byte(strings.Repeat("z", 1800)), BodyChunks: 3}, Want{Status: 413, Code: "body_too_large"}},
	{"streamed body within the limit", Request{Method: "POST", Authority: api, Path: "/v1/upload", Headers: [][2]string{h("x-api-key", KeyFull)},
		Body: []byte(strings.Repeat("z", 1000)), BodyChunks: 4}, identity},
	{"dot-dot traversal", get(api, "/v1/../admin", h("x-api-key", KeyFull)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded traversal", get(api, "/v1/%2e%2E/admin", h("x-api-key", KeyFull)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded slash", get(api, "/v1%2fadmin", h("x-api-key", KeyFull)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded backslash", get(api, "/v1/a%5cb", h("x-api-key", KeyFull)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded NUL", get(api, "/v1/a%00", h("x-api-key", KeyFull)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded unreserved character", get("x", "/%70ublic/a"), Want{Status: 400, Code: "invalid_path"}},
	{"empty segment", get("x", "//public/a"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded space is fine", get("x", "/public/a%20b"), Want{}},
	// Found by an outside probe: each passed the route or the key's allowed paths and reached
	// the upstream with its traversal intact.
	{"fragment after a public route", get("x", "/public/x#/../../admin"), Want{Status: 400, Code: "invalid_path"}},
	{"fragment after an allowed path", get(api, "/v1/builds/x#/../../users", h("x-api-key", KeyBuilds)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded fragment traversal", get(api, "/v1/builds/x#/%2e%2e/%2e%2e/users", h("x-api-key", KeyBuilds)), Want{Status: 400, Code: "invalid_path"}},
	{"dot-dot hidden by a path parameter", get(api, "/v1/builds/..;/users", h("x-api-key", KeyBuilds)), Want{Status: 400, Code: "invalid_path"}},
	{"encoded dot-dot with a path parameter", get(api, "/v1/builds/%2e%2e;/users", h("x-api-key", KeyBuilds)), Want{Status: 400, Code: "invalid_path"}},
	{"dot-dot with an encoded semicolon", get(api, "/v1/builds/..%3b/users", h("x-api-key", KeyBuilds)), Want{Status: 400, Code: "invalid_path"}},
	{"path parameter on a protected segment", get("x", "/healthz;x=1"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded CR", get("x", "/public/a%0d"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded LF", get("x", "/public/a%0Ab"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded tab", get("x", "/public/a%09"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded DEL", get("x", "/public/a%7f"), Want{Status: 400, Code: "invalid_path"}},
	{"encoded control in the query is data", get("x", "/public/a?note=line%0Aline"), Want{}},
	{"underscore spelling of an identity header removed", get("x", "/public/a", h("x_portcullis_key_id", "k-full"), h("X_Portcullis-Key_Name", "evil")),
		Want{Absent: []string{"x_portcullis_key_id", "x_portcullis-key_name"}}},
	// Permission guards, on the identity whatever established it.
	{"guard any: one of the permissions", get(api, "/v1/reports/q3", h("x-api-key", KeyOps)),
		Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-ops"}, {"x-portcullis-permissions", "ops:run,reports:read"}, {"x-portcullis-auth", "api_key"}}}},
	{"guard any: none of them", get(api, "/v1/reports/q3", h("x-api-key", KeyDev)),
		Want{Status: 403, Code: "insufficient_scope", Headers: [][2]string{{"www-authenticate", scopeError}}}},
	{"guard on an identity without permissions", get(api, "/v1/reports", h("x-api-key", KeyFull)), Want{Status: 403, Code: "insufficient_scope"}},
	{"guard refusal hides what is missing by default", get(api, "/v1/reports", h("x-api-key", KeyFull)),
		Want{Status: 403, Code: "insufficient_scope", BodyContains: `{"error":"the credential lacks a permission this route requires","code":"insufficient_scope"}`}},
	{"guard admin and all", get(api, "/v1/ops/restart", h("x-api-key", KeyOps)), Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-ops"}}}},
	{"guard names what is missing when the route opts in", get(api, "/v1/ops/restart", h("x-api-key", KeyFull)),
		Want{Status: 403, Code: "insufficient_scope", BodyContains: `"missing":["admin","ops:run"]`}},
	{"guard admin: staff is not admin", get(api, "/v1/ops/restart", h("x-api-key", KeyDev)),
		Want{Status: 403, Code: "insufficient_scope", BodyContains: `"missing":["admin"]`}},
	{"guard runs after authentication", get(api, "/v1/ops/restart"), Want{Status: 401, Code: "missing_credentials"}},
	{"spoofed permissions header replaced", get(api, "/v1/builds", h("x-portcullis-permissions", "ops:run"), h("x-api-key", KeyBuilds)),
		Want{Upstream: [][2]string{{"x-portcullis-permissions", "builds:read"}}}},
	{"no permissions header without permissions", get(api, "/v1/x", h("x-portcullis-permissions", "ops:run"), h("x-api-key", KeyFull)),
		Want{Absent: []string{"x-portcullis-permissions"}}},
	// IP lists on the client address.
	{"allow-listed client", from("127.0.0.1:5000", get("x", "/internal/status")), Want{}},
	{"deny-listed client inside the allow list", from("127.0.0.2:5000", get("x", "/internal/status")), Want{Status: 403, Code: "ip_denied"}},
	{"client outside the allow list", from("127.0.0.9:5000", get("x", "/internal/status")), Want{Status: 403, Code: "ip_denied"}},
	{"x-forwarded-for is not trusted with zero hops", from("127.0.0.9:5000", get("x", "/internal/status", h("x-forwarded-for", "127.0.0.1"))),
		Want{Status: 403, Code: "ip_denied"}},
	{"IPv6 loopback allow-listed", from("[::1]:5000", get("x", "/internal/status")), Want{}},
	// CORS on the app route, and its security headers.
	{"preflight answered without credentials", options(app, "/items", h("origin", webOrigin), h("access-control-request-method", "DELETE"),
		h("access-control-request-headers", "X-Trace, ,content-type")),
		Want{Status: 204, Headers: [][2]string{{"access-control-allow-origin", webOrigin}, {"access-control-allow-methods", "GET, POST, DELETE"},
			{"access-control-allow-headers", "x-trace, content-type"}, {"access-control-allow-credentials", "true"}, {"access-control-max-age", "600"}}}},
	{"preflight from a wildcard origin", options(app, "/items", h("origin", "https://a.b.partner.example"), h("access-control-request-method", "GET")),
		Want{Status: 204, Headers: [][2]string{{"access-control-allow-origin", "https://a.b.partner.example"}}}},
	{"preflight from a look-alike origin", options(app, "/items", h("origin", "https://web.example.com.evil.com"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected", HeadersAbsent: corsNone}},
	{"preflight from a suffix look-alike", options(app, "/items", h("origin", "https://evilpartner.example"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight downgraded to http", options(app, "/items", h("origin", "http://web.example.com"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight from another port", options(app, "/items", h("origin", "https://web.example.com:8443"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight with a trailing slash", options(app, "/items", h("origin", "https://web.example.com/"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight in upper case", options(app, "/items", h("origin", "https://WEB.example.com"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight from the null origin", options(app, "/items", h("origin", "null"), h("access-control-request-method", "GET")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight for a disallowed method", options(app, "/items", h("origin", webOrigin), h("access-control-request-method", "PUT")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"preflight for a disallowed header", options(app, "/items", h("origin", webOrigin), h("access-control-request-method", "GET"), h("access-control-request-headers", "x-trace, x-evil")),
		Want{Status: 403, Code: "cors_rejected"}},
	{"OPTIONS without CORS headers is an ordinary request", options(app, "/items"), Want{Status: 401, Code: "missing_credentials"}},
	{"allowed origin on an actual request", get(app, "/items", h("origin", webOrigin), h("x-api-key", KeyFull)),
		Want{Response: append(corsAllowed, [2]string{"access-control-expose-headers", "x-request-id"}, [2]string{"x-frame-options", "DENY"}),
			ResponseAbsent: []string{"server", "x-powered-by", "strict-transport-security"}}},
	{"the filter's own 401 carries CORS headers", get(app, "/items", h("origin", webOrigin)),
		Want{Status: 401, Code: "missing_credentials", Headers: append(corsAllowed,
			[2]string{"access-control-expose-headers", "x-request-id, www-authenticate, retry-after, ratelimit, ratelimit-policy"},
			[2]string{"x-content-type-options", "nosniff"})}},
	{"disallowed origin gets no CORS headers", get(app, "/items", h("origin", "https://evil.example"), h("x-api-key", KeyFull)),
		Want{Response: [][2]string{{"vary", "Origin"}}, ResponseAbsent: corsNone}},
	{"no origin, no CORS headers", get(app, "/items", h("x-api-key", KeyFull)),
		Want{Response: [][2]string{{"vary", "Origin"}, {"x-content-type-options", "nosniff"}}, ResponseAbsent: corsNone}},
	{"security headers added where the upstream set none", get(api, "/v1/reports", h("x-api-key", KeyOps)),
		Want{Response: [][2]string{{"strict-transport-security", "max-age=31536000; includeSubDomains"}, {"x-content-type-options", "nosniff"},
			{"referrer-policy", "strict-origin-when-cross-origin"}, {"x-frame-options", "SAMEORIGIN"}, {"server", "upstream/1.0"}}}},
	{"security headers on the filter's own denial", get(api, "/v1/reports"),
		Want{Status: 401, Code: "missing_credentials", Headers: [][2]string{{"x-frame-options", "DENY"}, {"strict-transport-security", "max-age=31536000; includeSubDomains"}}}},
	{"routes without response edits leave the response alone", get("x", "/public/a"),
		Want{Response: UpstreamResponse, ResponseAbsent: []string{"x-content-type-options", "vary"}}},
	{"every edge rule on one route", get("edge.example.com", "/v1/x", h("origin", webOrigin), h("x-api-key", KeyOps)),
		Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-ops"}},
			Response: [][2]string{{"access-control-allow-origin", webOrigin}, {"x-content-type-options", "nosniff"}, {"vary", "Origin"}}}},
	// Webhook signatures over the raw body, buffered and verified at its end.
	{"webhook verified over a body in many chunks", post("/hooks/github", hookBody, 7, h("x-hub-signature-256", GitHubSignature(WebhookSecret, hookBody))),
		Want{Absent: []string{"x-portcullis-key-id"}}},
	{"webhook signed with the next secret", post("/hooks/github", hookBody, 1, h("x-hub-signature-256", GitHubSignature(WebhookNextSecret, hookBody))), Want{}},
	{"webhook with a tampered body", post("/hooks/github", append([]byte("{\"x\":1} "), hookBody...), 3, h("x-hub-signature-256", GitHubSignature(WebhookSecret, hookBody))),
		Want{Status: 401, Code: "signature_mismatch"}},
	{"webhook signed with another secret", post("/hooks/github", hookBody, 2, h("x-hub-signature-256", GitHubSignature("someone-else-entirely", hookBody))),
		Want{Status: 401, Code: "signature_mismatch"}},
	{"webhook without a signature", post("/hooks/github", hookBody, 2), Want{Status: 401, Code: "signature_missing"}},
	{"webhook with a malformed signature", post("/hooks/github", hookBody, 2, h("x-hub-signature-256", "sha256=not-hex")), Want{Status: 401, Code: "signature_malformed"}},
	{"webhook body over the route's limit", post("/hooks/github", bigHookBody, 4, h("x-hub-signature-256", GitHubSignature(WebhookSecret, bigHookBody))),
		Want{Status: 413, Code: "body_too_large"}},
	{"underscore spoof replaced by the real identity", get(api, "/v1/builds", h("x_portcullis_key_id", "admin"), h("x-api-key", KeyBuilds)),
		Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-builds"}}, Absent: []string{"x_portcullis_key_id"}}},

	// Rate limits (issue 10). These cases run in order on one filter whose shared data lives
	// across cases: a key's bucket of 2 (1 per hour) is spent by the first two.
	{"rate limit: first request, RateLimit headers on the response", get(limits, "/a", h("x-api-key", KeyFull)),
		Want{Response: [][2]string{{"ratelimit", `"api_key/hour";r=1;t=3600`}, {"ratelimit-policy", rateLimitPolicy}}}},
	{"rate limit: second request spends the burst", get(limits, "/a", h("x-api-key", KeyFull)),
		Want{Response: [][2]string{{"ratelimit", `"api_key/hour";r=0;t=7200`}, {"ratelimit-policy", rateLimitPolicy}}}},
	{"rate limit: third request refused with Retry-After", get(limits, "/a", h("x-api-key", KeyFull)),
		Want{Status: 429, Code: "rate_limited", BodyContains: `{"error":"rate limit exceeded","code":"rate_limited"}`,
			Headers: [][2]string{{"retry-after", "3600"}, {"ratelimit", `"api_key/hour";r=0;t=7200`}, {"ratelimit-policy", rateLimitPolicy}}}},
	{"rate limit: another key has its own bucket", get(limits, "/a", h("x-api-key", KeyOps)),
		Want{Response: [][2]string{{"ratelimit", `"api_key/hour";r=1;t=3600`}}}},
	{"rate limit: an over-long identity value is refused", get(limits, "/a", h("x-api-key", KeyDev), h("x-tenant", strings.Repeat("t", 257))),
		Want{Status: 400, Code: "rate_limit_key_too_long"}},
}

const (
	limits          = "limits.example.com"
	rateLimitPolicy = `"api_key/hour";q=2;w=7200, "header:x-tenant/second";q=100;w=10`
)
