package checks_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/checks"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const hash = `"sha256": "` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"`

func route(name, prefix, auth, extra string) string {
	return `{"name": "` + name + `", "match": {"path_prefix": "` + prefix + `"` + `}, "auth": {"type": "` + auth + `"}` + extra + `}`
}

func routes(rs ...string) string { return `{"version": 1, "routes": [` + strings.Join(rs, ", ") + `]}` }

func jwtDoc(alg string, secretBytes int, extra string) string {
	k := base64.RawURLEncoding.EncodeToString(make([]byte, secretBytes))
	return `{"version": 1, "jwt_providers": [{"name": "idp", "issuer": "https://idp.example", "audiences": ["api"],
	  "algorithms": ["` + alg + `"], "jwks": {"keys": [{"kty": "oct", "k": "` + k + `"}]}` + extra + `}]}`
}

// Every check id has a case that raises it (at the path given) and one that does not.
func TestChecks(t *testing.T) {
	old := now.Add(-200 * 24 * time.Hour)
	recent := now.Add(-10 * 24 * time.Hour)
	cases := []struct {
		name string
		id   string
		doc  string
		in   checks.Inputs
		path string // "" = the check must not fire
	}{
		{"default allow", "PC001", `{"version": 1, "default_action": "allow"}`, checks.Inputs{}, "default_action"},
		{"default deny", "PC001", `{"version": 1, "default_action": "deny"}`, checks.Inputs{}, ""},

		{"open prefix before protected", "PC002", routes(route("pub", "/", "none", ""), route("api", "/api", "api_key", "")), checks.Inputs{}, "routes[0]"},
		{"open GET before protected any method", "PC002", routes(
			`{"name": "pub", "match": {"path_prefix": "/api", "methods": ["GET"]}, "auth": {"type": "none"}}`,
			route("api", "/api/items", "api_key", "")), checks.Inputs{}, "routes[0]"},
		{"open wildcard host before protected exact host", "PC002", routes(
			`{"name": "pub", "match": {"path_prefix": "/", "hosts": ["*.example.com"]}, "auth": {"type": "none"}}`,
			`{"name": "api", "match": {"path_prefix": "/api", "hosts": ["api.example.com"]}, "auth": {"type": "api_key"}}`), checks.Inputs{}, "routes[0]"},
		{"protected before open", "PC002", routes(route("api", "/api", "api_key", ""), route("pub", "/", "none", "")), checks.Inputs{}, ""},
		{"open sibling prefix", "PC002", routes(route("pub", "/apix", "none", ""), route("api", "/api", "api_key", "")), checks.Inputs{}, ""},
		{"open other methods", "PC002", routes(
			`{"name": "pub", "match": {"path_prefix": "/api", "methods": ["OPTIONS"]}, "auth": {"type": "none"}}`,
			`{"name": "api", "match": {"path_prefix": "/api", "methods": ["GET", "POST"]}, "auth": {"type": "api_key"}}`), checks.Inputs{}, ""},
		{"open other host", "PC002", routes(
			`{"name": "pub", "match": {"path_prefix": "/", "hosts": ["www.example.com"]}, "auth": {"type": "none"}}`,
			`{"name": "api", "match": {"path_prefix": "/", "hosts": ["*.api.example.com"]}, "auth": {"type": "api_key"}}`), checks.Inputs{}, ""},
		{"open below protected prefix, trailing slash", "PC002", routes(route("pub", "/api/", "none", ""), route("api", "/api", "api_key", "")), checks.Inputs{}, "routes[0]"},

		{"huge body", "PC003", routes(route("up", "/upload", "api_key", `, "limits": {"max_body_bytes": 1073741824}`)), checks.Inputs{}, "routes[0].limits.max_body_bytes"},
		{"huge default header count", "PC003", `{"version": 1, "default_limits": {"max_header_count": 1000}}`, checks.Inputs{}, "default_limits.max_header_count"},
		{"default limits", "PC003", routes(route("up", "/upload", "api_key", "")), checks.Inputs{}, ""},

		{"key without expiry", "PC004", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`, checks.Inputs{}, "keys[0].expires_at"},
		{"key with expiry", "PC004", `{"version": 1, "keys": [{"id": "k1", ` + hash + `, "expires_at": "2030-01-01T00:00:00Z"}]}`, checks.Inputs{}, ""},

		{"key last used long ago", "PC005", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`,
			checks.Inputs{Now: now, Usage: map[string]checks.KeyUsage{"k1": {CreatedAt: old, LastUsedAt: old}}}, "keys[0]"},
		{"old key never used", "PC005", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`,
			checks.Inputs{Now: now, Usage: map[string]checks.KeyUsage{"k1": {CreatedAt: old}}}, "keys[0]"},
		{"key used recently", "PC005", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`,
			checks.Inputs{Now: now, Usage: map[string]checks.KeyUsage{"k1": {CreatedAt: old, LastUsedAt: recent}}}, ""},
		{"new key never used", "PC005", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`,
			checks.Inputs{Now: now, Usage: map[string]checks.KeyUsage{"k1": {CreatedAt: recent}}}, ""},
		{"no usage known (a file)", "PC005", `{"version": 1, "keys": [{"id": "k1", ` + hash + `}]}`, checks.Inputs{Now: now}, ""},

		{"cors star", "PC006", routes(route("web", "/web", "api_key", `, "cors": {"allowed_origins": ["*"]}`)), checks.Inputs{}, "routes[0].cors.allowed_origins[0]"},
		{"cors listed", "PC006", routes(route("web", "/web", "api_key", `, "cors": {"allowed_origins": ["https://app.example.com"]}`)), checks.Inputs{}, ""},

		{"cors credentials wildcard", "PC007", routes(route("web", "/web", "api_key", `, "cors": {"allowed_origins": ["https://app.example.com", "https://*.example.com"], "allow_credentials": true}`)), checks.Inputs{}, "routes[0].cors.allowed_origins[1]"},
		{"cors credentials null", "PC007", routes(route("web", "/web", "api_key", `, "cors": {"allowed_origins": ["null"], "allow_credentials": true}`)), checks.Inputs{}, "routes[0].cors.allowed_origins[0]"},
		{"cors wildcard without credentials", "PC007", routes(route("web", "/web", "api_key", `, "cors": {"allowed_origins": ["https://*.example.com"]}`)), checks.Inputs{}, ""},

		{"security headers without hsts", "PC008", routes(route("web", "/web", "api_key", `, "security_headers": {"hsts": null}`)), checks.Inputs{}, "routes[0].security_headers.hsts"},
		{"security headers defaults", "PC008", routes(route("web", "/web", "api_key", `, "security_headers": {}`)), checks.Inputs{}, ""},

		{"old secret, nothing staged", "PC009", `{"version": 1, "webhooks": [{"name": "gh", "preset": "github", "secret": "0123456789abcdef0123"}]}`,
			checks.Inputs{Now: now, SecretChangedAt: map[string]time.Time{"gh": old}}, "webhooks[0]"},
		{"old secret, next staged", "PC009", `{"version": 1, "webhooks": [{"name": "gh", "preset": "github", "secret": "0123456789abcdef0123", "next_secret": "fedcba9876543210fedc"}]}`,
			checks.Inputs{Now: now, SecretChangedAt: map[string]time.Time{"gh": old}}, ""},
		{"recent secret", "PC009", `{"version": 1, "webhooks": [{"name": "gh", "preset": "github", "secret": "0123456789abcdef0123"}]}`,
			checks.Inputs{Now: now, SecretChangedAt: map[string]time.Time{"gh": recent}}, ""},

		{"HS512 with 32-byte secret", "PC010", jwtDoc("HS512", 32, ""), checks.Inputs{}, "jwt_providers[0].jwks.keys[0]"},
		{"HS256 with 32-byte secret", "PC010", jwtDoc("HS256", 32, ""), checks.Inputs{}, ""},

		{"token in query", "PC011", jwtDoc("HS256", 32, `, "from": {"query": "access_token"}`), checks.Inputs{}, "jwt_providers[0].from.query"},
		{"token in header", "PC011", jwtDoc("HS256", 32, `, "from": {"header": "authorization"}`), checks.Inputs{}, ""},

		{"week-long tokens", "PC012", jwtDoc("HS256", 32, `, "max_lifetime_seconds": 604800`), checks.Inputs{}, "jwt_providers[0].max_lifetime_seconds"},
		{"hour-long tokens", "PC012", jwtDoc("HS256", 32, `, "max_lifetime_seconds": 3600`), checks.Inputs{}, ""},

		{"tiers without default", "PC013", `{"version": 1, "rate_limit_tiers": [{"name": "gold", "limits": [{"by": "api_key", "rate": 10, "per": "second"}]}],
		  "keys": [{"id": "k1", ` + hash + `, "expires_at": "2030-01-01T00:00:00Z"}]}`, checks.Inputs{}, "rate_limit_tiers"},
		{"tiers with default", "PC013", `{"version": 1, "rate_limit_tiers": [{"name": "default", "limits": [{"by": "api_key", "rate": 10, "per": "second"}]}],
		  "keys": [{"id": "k1", ` + hash + `, "expires_at": "2030-01-01T00:00:00Z"}]}`, checks.Inputs{}, ""},

		{"allow everything v4", "PC014", routes(route("api", "/api", "api_key", `, "ip_allow": ["10.0.0.0/8", "0.0.0.0/0"]`)), checks.Inputs{}, "routes[0].ip_allow[1]"},
		{"allow everything v6 top level", "PC014", `{"version": 1, "ip_allow": ["::/0"]}`, checks.Inputs{}, "ip_allow[0]"},
		{"allow a network", "PC014", routes(route("api", "/api", "api_key", `, "ip_allow": ["10.0.0.0/8"]`)), checks.Inputs{}, ""},

		{"unreachable route", "PC015", routes(route("all", "/", "api_key", ""), route("api", "/api", "api_key", "")), checks.Inputs{}, "routes[1]"},
		{"reachable narrower first", "PC015", routes(route("api", "/api", "api_key", ""), route("all", "/", "api_key", "")), checks.Inputs{}, ""},
	}
	seen := map[string][2]bool{}
	for _, tc := range cases {
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			rep := checks.File([]byte(tc.doc), tc.in)
			if !rep.Valid {
				t.Fatalf("document invalid: %+v", rep.Problems)
			}
			var paths []string
			for _, w := range rep.Warnings {
				if w.ID == tc.id {
					paths = append(paths, w.Path)
					if w.Message == "" || w.Severity == "" {
						t.Errorf("warning without message or severity: %+v", w)
					}
				}
			}
			if tc.path == "" && len(paths) > 0 {
				t.Fatalf("%s fired at %v: %+v", tc.id, paths, rep.Warnings)
			}
			if tc.path != "" && !slices.Contains(paths, tc.path) {
				t.Fatalf("%s not at %q (got %v): %+v", tc.id, tc.path, paths, rep.Warnings)
			}
		})
		s := seen[tc.id]
		s[boolIndex(tc.path != "")] = true
		seen[tc.id] = s
	}
	for _, c := range checks.Catalog {
		if s := seen[c.ID]; !s[0] || !s[1] {
			t.Errorf("%s needs a case that raises it and one that does not (have %v)", c.ID, s)
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// An invalid document reports every problem with its path and no warnings.
func TestInvalid(t *testing.T) {
	rep := checks.File([]byte(`{"version": 1, "default_action": "allow", "routes": [{"name": "", "match": {"path_prefix": "api"}, "auth": {"type": "none"}}]}`), checks.Inputs{})
	if rep.Valid || len(rep.Warnings) != 0 {
		t.Fatalf("got %+v", rep)
	}
	var paths []string
	for _, p := range rep.Problems {
		paths = append(paths, p.Path)
	}
	for _, want := range []string{"routes[0].name", "routes[0].match.path_prefix"} {
		if !slices.Contains(paths, want) {
			t.Errorf("problems %v lack %s", paths, want)
		}
	}
	if rep := checks.File([]byte(`{"version": `), checks.Inputs{}); rep.Valid || len(rep.Problems) != 1 {
		t.Fatalf("syntax error: %+v", rep)
	}
}

func TestFailing(t *testing.T) {
	rep := checks.File([]byte(`{"version": 1, "keys": [{"id": "k1", `+hash+`}]}`), checks.Inputs{})
	for sev, want := range map[checks.Severity]bool{checks.Low: true, checks.Medium: false, checks.High: false} {
		if got := rep.Failing(sev); got != want {
			t.Errorf("Failing(%s) = %v, want %v (%+v)", sev, got, want, rep.Warnings)
		}
	}
}
