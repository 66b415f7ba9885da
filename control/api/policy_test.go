package api_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const apiRoute = `{"name":"api","match":{"path_prefix":"/api"},"auth":{"type":"api_key"}}`

// withRoute is a policy whose only route is apiRoute with the given fields added.
func withRoute(fields string) string {
	return `{"version":1,"routes":[` + apiRoute[:len(apiRoute)-1] + `,` + fields + `}]}`
}

func TestPolicyReplace(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		r := e.do("GET", "/v1/policy", e.readOnly, nil)
		initial := expect(t, r, http.StatusOK, "")
		etag := r.header.Get("ETag")
		if etag != `"1"` || initial["default_action"] != "deny" || initial["routes"] != nil {
			t.Fatalf("initial policy %v, ETag %s", initial, etag)
		}
		doc := `{"version":1,"default_limits":{"max_body_bytes":2048},"routes":[` + apiRoute + `]}`

		expect(t, e.do("PUT", "/v1/policy", adminToken, doc), http.StatusPreconditionRequired, "precondition_required")
		expect(t, e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", `"999"`), http.StatusPreconditionFailed, "precondition_failed")
		expect(t, e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", `W/"1"`), http.StatusPreconditionFailed, "precondition_failed")

		r = e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", etag)
		stored := expect(t, r, http.StatusOK, "")
		v := versionHeader(t, r)
		if v < 2 || r.header.Get("ETag") != fmt.Sprintf(`"%d"`, v) {
			t.Fatalf("PUT: version %d, ETag %s", v, r.header.Get("ETag"))
		}
		// Normalized: defaults written out.
		route := stored["routes"].([]any)[0].(map[string]any)
		if stored["default_limits"].(map[string]any)["max_body_bytes"] != 2048.0 || route["limits"].(map[string]any)["max_header_count"] != 100.0 {
			t.Fatalf("stored policy not normalized: %v", stored)
		}
		e.waitVersion(v)
		if s := e.snapshotNow(); len(s.Policy.Routes) != 1 || s.Policy.Routes[0].Name != "api" || s.Policy.DefaultLimits.MaxBodyBytes != 2048 {
			t.Fatalf("snapshot policy = %+v", s.Policy)
		}
		// The old ETag is now stale.
		expect(t, e.do("PUT", "/v1/policy", adminToken, `{"version":1}`, "If-Match", etag), http.StatusPreconditionFailed, "precondition_failed")
		// Same document again: nothing new is published.
		r = e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		if versionHeader(t, r) != 0 || r.header.Get("ETag") != fmt.Sprintf(`"%d"`, v) {
			t.Fatalf("identical PUT published version %d / ETag %s", versionHeader(t, r), r.header.Get("ETag"))
		}
		got := e.do("GET", "/v1/policy", adminToken, nil)
		if got.header.Get("ETag") != fmt.Sprintf(`"%d"`, v) || !reflect.DeepEqual(got.json(t), stored) {
			t.Fatalf("GET after PUT = %s (%s)", got.body, got.header.Get("ETag"))
		}
	})
}

// TestIfMatch: If-Match is "*" alone or a list of quoted entity tags (RFC 9110 13.1.1), on one
// header line or several; anything else is a 400 that says how to write it, never "the policy
// changed". Weak tags never match (strong comparison).
func TestIfMatch(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	doc := func(i int) string {
		return fmt.Sprintf(`{"version":1,"routes":[{"name":"r%d","match":{"path_prefix":"/r"},"auth":{"type":"none"}}]}`, i)
	}
	for i, tc := range []struct {
		name    string
		ifMatch []string // header lines; %s is the current ETag
		status  int
		code    string
	}{
		{"current", []string{"%s"}, 200, ""},
		{"star", []string{"*"}, 200, ""},
		{"list with the current", []string{`"999", %s`}, 200, ""},
		{"list over two lines", []string{`"999"`, "%s"}, 200, ""},
		{"comma inside a tag", []string{`"9,9", %s`}, 200, ""},
		{"stale", []string{`"999"`}, 412, "precondition_failed"},
		{"weak", []string{"W/%s"}, 412, "precondition_failed"},
		{"empty tag", []string{`""`}, 412, "precondition_failed"},
		{"unquoted", []string{"2"}, 400, "invalid_header"},
		{"unquoted current", []string{"CURRENT"}, 400, "invalid_header"},
		{"star in a list", []string{`"9", *`}, 400, "invalid_header"},
		{"star on a second line", []string{`"9"`, "*"}, 400, "invalid_header"},
		{"unterminated", []string{`"1`}, 400, "invalid_header"},
		{"space in a tag", []string{`"1 2"`}, 400, "invalid_header"},
		{"junk after a tag", []string{`"1"x`}, 400, "invalid_header"},
		{"empty member", []string{`"9",,%s`}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			etag := e.do("GET", "/v1/policy", adminToken, nil).header.Get("ETag")
			var headers []string
			for _, line := range tc.ifMatch {
				if strings.Contains(line, "%s") {
					line = fmt.Sprintf(line, etag)
				}
				headers = append(headers, "If-Match", strings.ReplaceAll(line, "CURRENT", strings.Trim(etag, `"`)))
			}
			r := e.do("PUT", "/v1/policy", adminToken, doc(i), headers...)
			m := expect(t, r, tc.status, tc.code)
			if tc.code == "invalid_header" && !strings.Contains(m["error"].(string), `quoted entity tags such as "12"`) {
				t.Fatalf("the 400 does not say how to write If-Match: %v", m)
			}
		})
	}
}

func TestPolicyErrors(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		fields     []string
	}{
		{"malformed", `{"version":1,`, 400, "malformed_json", []string{""}},
		{"empty", ` `, 400, "empty_body", nil},
		{"no version", `{"routes":[]}`, 422, "invalid_request", []string{"version"}},
		{"unknown field", `{"version":1,"rules":[]}`, 422, "invalid_request", []string{"rules"}},
		{"keys are not edited here", `{"version":1,"keys":[{"id":"k","sha256":"` + strings.Repeat("a", 64) + `"}]}`, 422, "invalid_request", []string{"keys"}},
		{"not even an empty list of keys", `{"version":1,"keys":[]}`, 422, "invalid_request", []string{"keys"}},
		{"keys with the other problems", `{"version":2,"keys":[],"routes":[{"name":"a b","auth":{"type":"none"}}]}`, 422, "invalid_request",
			[]string{"version", "keys", "routes[0].name"}},
		{"every route problem", `{"version":1,"routes":[{"name":"a b","match":{"path_prefix":"api","methods":["get"]},"auth":{"type":"magic"}},{"name":"x","limits":{"max_body_bytes":0}}]}`,
			422, "invalid_request", []string{"routes[1].limits.max_body_bytes", "routes[1].auth", // decoding first
				"routes[0].name", "routes[0].match.path_prefix", "routes[0].match.methods[0]", "routes[0].auth.type"}},
		{"validation after decoding", `{"version":1,"routes":[{"name":"a b","match":{"path_prefix":"api","methods":["get"]},"auth":{"type":"magic"}}]}`,
			422, "invalid_request", []string{"routes[0].name", "routes[0].match.path_prefix", "routes[0].match.methods[0]", "routes[0].auth.type"}},
		{"duplicate route names", `{"version":1,"routes":[` + apiRoute + `,` + apiRoute + `]}`, 422, "invalid_request", []string{"routes[1].name"}},
		{"origin with a path", withRoute(`"cors":{"allowed_origins":["https://app.example.com/"]}`), 422, "invalid_request", []string{"routes[0].cors.allowed_origins[0]"}},
		{"origin by substring", withRoute(`"cors":{"allowed_origins":["https://app.example.com","*.example.com"]}`), 422, "invalid_request", []string{"routes[0].cors.allowed_origins[1]"}},
		{"any origin with credentials", withRoute(`"cors":{"allowed_origins":["*"],"allow_credentials":true}`), 422, "invalid_request", []string{"routes[0].cors.allowed_origins[0]"}},
		{"cors without origins", withRoute(`"cors":{"allowed_methods":["GET"]}`), 422, "invalid_request", []string{"routes[0].cors.allowed_origins"}},
		{"cors method and header", withRoute(`"cors":{"allowed_origins":["https://a.example"],"allowed_methods":["get"],"exposed_headers":["a b"]}`), 422, "invalid_request",
			[]string{"routes[0].cors.allowed_methods[0]", "routes[0].cors.exposed_headers[0]"}},
		{"route IP entries", withRoute(`"ip_allow":["10.0.0.0/8","10.0.0.1/8"],"ip_deny":["fe80::1%eth0"]`), 422, "invalid_request",
			[]string{"routes[0].ip_allow[1]", "routes[0].ip_deny[0]"}},
		{"global IP entries", `{"version":1,"ip_allow":["not-an-ip"],"ip_deny":["192.0.2.0/33"]}`, 422, "invalid_request", []string{"ip_allow[0]", "ip_deny[0]"}},
		{"too many proxy hops", `{"version":1,"trusted_proxy_hops":11}`, 422, "invalid_request", []string{"trusted_proxy_hops"}},
		{"empty permission guard", withRoute(`"permissions":{}`), 422, "invalid_request", []string{"routes[0].permissions"}},
		{"invalid permission", withRoute(`"permissions":{"any":["ok","has space"]}`), 422, "invalid_request", []string{"routes[0].permissions.any[1]"}},
		{"guard on a public route", `{"version":1,"routes":[{"name":"p","match":{"path_prefix":"/"},"auth":{"type":"none"},"admin":true}]}`, 422, "invalid_request", []string{"routes[0].auth"}},
		{"guard flag not a boolean", withRoute(`"staff":"yes"`), 422, "invalid_request", []string{"routes[0].staff"}},
		{"security header values", withRoute(`"security_headers":{"mode":"replace","frame_options":"ALLOW","hsts":{"max_age_seconds":60,"preload":true}}`), 422, "invalid_request",
			[]string{"routes[0].security_headers.mode", "routes[0].security_headers.hsts.preload", "routes[0].security_headers.frame_options"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := expect(t, e.do("PUT", "/v1/policy", adminToken, tc.body, "If-Match", "*"), tc.status, tc.code)
			if got := detailFields(m); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("detail fields = %v, want %v (%v)", got, tc.fields, m)
			}
		})
	}
	if r := e.do("GET", "/v1/policy", adminToken, nil); r.header.Get("ETag") != `"1"` {
		t.Fatalf("a rejected PUT changed the policy: ETag %s", r.header.Get("ETag"))
	}
}

// Operators editing the policy at once: each reads, adds its route and writes with If-Match,
// retrying on 412. Every route survives: no update is lost.
func TestConcurrentPolicyEdits(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		const n = 8
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				for attempt := 0; ; attempt++ {
					if attempt > 100 {
						t.Errorf("editor %d: too many conflicts", i)
						return
					}
					r := e.do("GET", "/v1/policy", adminToken, nil)
					var doc map[string]any
					doc = r.json(t)
					routes, _ := doc["routes"].([]any)
					doc["routes"] = append(routes, map[string]any{"name": fmt.Sprintf("r%d", i), "match": map[string]any{"path_prefix": fmt.Sprintf("/r%d", i)}, "auth": map[string]any{"type": "none"}})
					w := e.do("PUT", "/v1/policy", adminToken, doc, "If-Match", r.header.Get("ETag"))
					switch w.status {
					case http.StatusOK:
						return
					case http.StatusPreconditionFailed:
						continue
					default:
						t.Errorf("editor %d: %d %s", i, w.status, w.body)
						return
					}
				}
			})
		}
		wg.Wait()
		doc := expect(t, e.do("GET", "/v1/policy", adminToken, nil), http.StatusOK, "")
		if got := len(doc["routes"].([]any)); got != n {
			t.Fatalf("%d routes survived, want %d", got, n)
		}
	})
}

// Keys created at once each get their own version, and all of them are published.
func TestConcurrentKeyCreation(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		const n = 12
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			versions = map[uint64]bool{}
			ids      = map[string]bool{}
		)
		for i := range n {
			wg.Go(func() {
				r := e.do("POST", "/v1/keys", adminToken, map[string]any{"name": fmt.Sprint("k", i)})
				if r.status != http.StatusCreated {
					t.Errorf("create %d: %d %s", i, r.status, r.body)
					return
				}
				mu.Lock()
				versions[versionHeader(t, r)] = true
				ids[r.json(t)["id"].(string)] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		var maxV uint64
		for v := range versions {
			maxV = max(maxV, v)
		}
		if len(versions) != n || len(ids) != n {
			t.Fatalf("%d distinct versions and %d ids for %d keys", len(versions), len(ids), n)
		}
		e.waitVersion(maxV)
		if got := len(e.snapshotNow().Policy.Keys); got != n {
			t.Fatalf("snapshot has %d keys, want %d", got, n)
		}
	})
}

// Patches of different fields of one key at once: each is a read-modify-write, and all of
// them survive.
func TestConcurrentKeyPatches(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		k, _ := e.createKey(map[string]any{"name": "k"})
		path := "/v1/keys/" + k["id"].(string)
		patches := []string{
			`{"name":"renamed"}`, `{"active":false}`, `{"allowed_paths":["/a"]}`,
			`{"permissions":["p"]}`, `{"expires_at":"2031-01-01T00:00:00Z"}`, `{"admin":true}`, `{"staff":true}`,
		}
		var wg sync.WaitGroup
		for _, p := range patches {
			wg.Go(func() {
				if r := e.do("PATCH", path, adminToken, p); r.status != http.StatusOK {
					t.Errorf("PATCH %s: %d %s", p, r.status, r.body)
				}
			})
		}
		wg.Wait()
		got := expect(t, e.do("GET", path, adminToken, nil), http.StatusOK, "")
		if got["name"] != "renamed" || got["active"] != false || !reflect.DeepEqual(got["allowed_paths"], []any{"/a"}) ||
			!reflect.DeepEqual(got["permissions"], []any{"p"}) || got["expires_at"] != "2031-01-01T00:00:00Z" || got["admin"] != true || got["staff"] != true {
			t.Fatalf("after concurrent patches: %v", got)
		}
	})
}
