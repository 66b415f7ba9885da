package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

func compile(t testing.TB, doc string) *engine.Engine {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	e, err := engine.Compile(d)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

// run plays a scenario against the engine the way the filter does: decide on the headers, then
// count the streamed body against the route's limit, then apply the header edits.
func run(e *engine.Engine, c *scenario.Case, now time.Time, counters engine.Counters) scenario.Outcome {
	source := c.Req.Source
	if source == "" {
		source = scenario.DefaultSource
	}
	req := &engine.Request{Method: c.Req.Method, Authority: c.Req.Authority, Path: c.Req.Path, Headers: c.Req.HeaderPairs(), Source: source, Now: now, Counters: counters}
	d := e.Decide(req)
	if d.Local {
		return scenario.Outcome{Status: d.Status, Body: d.Body, Headers: d.Headers}
	}
	if d.Allow {
		total := int64(0)
		var body []byte
		for _, chunk := range c.Req.Chunks() {
			if total += int64(len(chunk)); total > d.MaxBodyBytes {
				d = engine.Deny(engine.CodeBodyTooLarge)
				break
			}
			body = append(body, chunk...)
		}
		if d.Allow && d.BufferBody {
			d = e.DecideBody(&d, req, body)
		}
	}
	if !d.Allow {
		return scenario.Outcome{Status: d.Status, Body: d.Body, Headers: d.Headers}
	}
	return scenario.Outcome{Upstream: engine.ApplyEdits(c.Req.Headers, &d), Response: engine.ApplyResponseEdits(scenario.UpstreamResponse, d.Response)}
}

func TestScenarios(t *testing.T) {
	e := compile(t, scenario.Policy)
	// One store for the whole table, as shared data is for the filter legs: the rate-limit
	// cases build on each other in order.
	counters := engine.NewMemoryCounters()
	for i := range scenario.Cases {
		c := &scenario.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			for _, p := range c.Check(run(e, c, time.Now(), counters)) {
				t.Error(p)
			}
		})
	}
}

// Unknown, inactive and expired keys must be indistinguishable to the client.
func TestInvalidKeyRepliesAreIdentical(t *testing.T) {
	e := compile(t, scenario.Policy)
	var first *engine.Decision
	for _, k := range []string{scenario.KeyUnknown, scenario.KeyInactive, scenario.KeyExpired} {
		d := e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x", Headers: [][2]string{{"x-api-key", k}}, Now: time.Now()})
		if first == nil {
			first = &d
			continue
		}
		if d.Status != first.Status || string(d.Body) != string(first.Body) || len(d.Headers) != len(first.Headers) {
			t.Fatalf("reply for %s differs: %d %s vs %d %s", k, d.Status, d.Body, first.Status, first.Body)
		}
	}
}

func TestKeyExpiryUsesRequestTime(t *testing.T) {
	doc := strings.Replace(scenario.Policy, `"expires_at": "2020-01-01T00:00:00Z"`, `"expires_at": "2030-01-01T00:00:00Z"`, 1)
	e := compile(t, doc)
	req := func(now time.Time) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: "/v1/x", Headers: [][2]string{{"x-api-key", scenario.KeyExpired}}, Now: now})
	}
	if d := req(time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC)); !d.Allow {
		t.Fatalf("before expiry: %d %s", d.Status, d.Body)
	}
	if d := req(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); d.Allow || d.Code != "invalid_credentials" {
		t.Fatalf("at expiry: allow=%v code=%s", d.Allow, d.Code)
	}
}

func TestDefaultAllowAppliesDefaultLimits(t *testing.T) {
	e := compile(t, `{"version":1,"default_action":"allow","default_limits":{"max_header_count":1}}`)
	d := e.Decide(&engine.Request{Method: "GET", Authority: "x", Path: "/anything", Headers: [][2]string{{"a", "1"}}})
	if !d.Allow || d.Route != "" {
		t.Fatalf("default allow: %+v", d)
	}
	d = e.Decide(&engine.Request{Method: "GET", Authority: "x", Path: "/anything", Headers: [][2]string{{"a", "1"}, {"b", "2"}}})
	if d.Allow || d.Code != "too_many_headers" {
		t.Fatalf("default limits not applied: %+v", d)
	}
}

func TestFirstMatchingRouteWins(t *testing.T) {
	e := compile(t, `{"version":1,"routes":[
		{"name":"a","match":{"path_prefix":"/x/open"},"auth":{"type":"none"}},
		{"name":"b","match":{"path_prefix":"/x"},"auth":{"type":"api_key"}}]}`)
	for path, want := range map[string]string{"/x/open/1": "a", "/x/opener": "b", "/x": "b"} {
		d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: path})
		if d.Route != want {
			t.Errorf("%s matched route %q, want %q", path, d.Route, want)
		}
	}
}

func TestPathHygiene(t *testing.T) {
	e := compile(t, `{"version":1,"default_action":"allow"}`)
	tests := map[string]bool{ // path → allowed
		"/":              true,
		"/a/b/":          true,
		"/a.b/c..d/.e":   true,
		"/a%2ejpg":       true,
		"/a%20b?q=%2f..": true,
		"/a?x#y":         false, // a request target never carries a fragment
		"/a#":            false,
		"/open#/../x":    false,
		"/a?x=%0a%7f":    true, // encoded controls in the query are form data, not path
		"/a%80%ff":       true,
		"/a%20b%21":      true,
		"/...":           true,
		"":               false,
		"a/b":            false,
		"*":              false,
		"/a/./b":         false,
		"/a/..":          false,
		"/a/.":           false,
		"/%2E%2e/b":      false,
		"/.%2e/b":        false,
		"/a//b":          false,
		"/a\\b":          false,
		"/a%5Cb":         false,
		"/a%2Fb":         false,
		"/a%00":          false,
		"/a%":            false,
		"/a%zz":          false,
		"/a%4":           false,
		"/%41dmin":       false,
		"/a\x00b":        false,
		"/a\rb":          false,
		"/a?b\nc":        false,
		"/a\x7f":         false,
		"/a%0d":          false,
		"/a%0A":          false,
		"/a%09b":         false,
		"/a%7F":          false,
		"/a%1f":          false,
		"/a%01":          false,
		"/a/..;/b":       false,
		"/a/%2e%2e;/b":   false,
		"/a/..%3b/b":     false,
		"/a/..%3B/b":     false,
		"/a/.;x/b":       false,
		"/a/;x/b":        false,
		"/a;jsessionid":  false, // path parameters are refused unless the policy allows them
		"/a%3bx":         false,
	}
	for p, want := range tests {
		d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: p})
		if d.Allow != want {
			t.Errorf("path %q: allow = %v, want %v (code %s)", p, d.Allow, want, d.Code)
		}
		if !want && d.Code != "invalid_path" {
			t.Errorf("path %q: code = %s, want invalid_path", p, d.Code)
		}
	}
}

func TestContentLength(t *testing.T) {
	e := compile(t, `{"version":1,"default_action":"allow","default_limits":{"max_body_bytes":10}}`)
	tests := []struct {
		values []string
		code   string
	}{
		{[]string{"10"}, ""},
		{[]string{"0"}, ""},
		{[]string{"11"}, "body_too_large"},
		{[]string{"+5"}, "invalid_content_length"},
		{[]string{"-1"}, "invalid_content_length"},
		{[]string{" 5"}, "invalid_content_length"},
		{[]string{""}, "invalid_content_length"},
		{[]string{"99999999999999999999"}, "invalid_content_length"},
		{[]string{"5", "5"}, ""},
		{[]string{"5", "6"}, "invalid_content_length"},
	}
	for _, tt := range tests {
		var hs [][2]string
		for _, v := range tt.values {
			hs = append(hs, [2]string{"content-length", v})
		}
		d := e.Decide(&engine.Request{Method: "POST", Authority: "h", Path: "/", Headers: hs})
		if d.Code != tt.code {
			t.Errorf("content-length %q: code = %q, want %q", tt.values, d.Code, tt.code)
		}
	}
}

func TestDenyUnknownCodeIsInternalError(t *testing.T) {
	if d := engine.Deny("nonsense"); d.Status != 500 || d.Code != "internal_error" {
		t.Fatalf("got %d %s", d.Status, d.Code)
	}
	for _, c := range engine.Codes {
		if d := engine.Deny(c); d.Code != string(c) || d.Status < 400 {
			t.Errorf("code %s: %+v", c, d)
		}
	}
}

func TestCompileRejectsNil(t *testing.T) {
	if _, err := engine.Compile(nil); err == nil {
		t.Fatal("Compile(nil) succeeded")
	}
}

// Routes bound to exact hosts and to wildcards interleave; the first in document order wins
// whichever index found it.
func TestRouteOrderAcrossHostIndexes(t *testing.T) {
	e := compile(t, `{"version":1,"routes":[
		{"name":"exact-narrow","match":{"hosts":["a.example.com"],"path_prefix":"/x/y"},"auth":{"type":"none"}},
		{"name":"wild","match":{"hosts":["*.example.com"],"path_prefix":"/x"},"auth":{"type":"none"}},
		{"name":"exact-wide","match":{"hosts":["a.example.com","b.example.com"],"path_prefix":"/"},"auth":{"type":"none"}},
		{"name":"any","match":{"path_prefix":"/"},"auth":{"type":"none"}}]}`)
	tests := []struct{ host, path, want string }{
		{"a.example.com", "/x/y/1", "exact-narrow"},
		{"a.example.com", "/x/z", "wild"},
		{"a.example.com", "/other", "exact-wide"},
		{"b.example.com", "/x", "wild"},
		{"b.example.com", "/other", "exact-wide"},
		{"c.example.com", "/other", "any"},
		{"example.com", "/x", "any"},
		{"A.EXAMPLE.COM.", "/x/y", "exact-narrow"},
	}
	for _, tt := range tests {
		d := e.Decide(&engine.Request{Method: "GET", Authority: tt.host, Path: tt.path})
		if d.Route != tt.want {
			t.Errorf("%s%s matched %q, want %q", tt.host, tt.path, d.Route, tt.want)
		}
	}
}
