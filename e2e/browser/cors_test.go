package browser_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testKey is a fixture for this test only and protects nothing.
const testKey = "pcs_test_browser_000000000000000001"

// corsPolicy has two routes with the same CORS section for the allowed page's origin: one
// without authentication and one that requires an API key.
func corsPolicy(allowedOrigin string) string {
	sum := sha256.Sum256([]byte(testKey))
	cors := fmt.Sprintf(`{"allowed_origins": [%q], "allowed_methods": ["GET", "POST"],
	  "allowed_headers": ["x-trace", "x-api-key"], "exposed_headers": ["x-request-id"], "allow_credentials": true}`, allowedOrigin)
	return fmt.Sprintf(`{"version": 1, "default_action": "deny",
	  "routes": [
	    {"name": "open", "match": {"path_prefix": "/open"}, "auth": {"type": "none"}, "cors": %s},
	    {"name": "keyed", "match": {"path_prefix": "/keyed"}, "auth": {"type": "api_key"}, "cors": %s}
	  ],
	  "keys": [{"id": "k-browser", "sha256": %q}]}`, cors, cors, hex.EncodeToString(sum[:]))
}

// What a script may read of a cross-origin response (Fetch standard): the CORS-safelisted
// headers the response carries (cache-control, content-language, content-length,
// content-type, expires, last-modified, pragma) plus the exposed ones — never server,
// x-upstream-version, vary, date or the access-control-* headers themselves.
var (
	// upstreamReadable: the upstream's answer, with the route's exposed x-request-id.
	upstreamReadable = []string{"cache-control", "content-language", "content-length", "content-type", "x-request-id"}
	// deniedReadable: the filter's own JSON denial, which exposes www-authenticate (and
	// retry-after and the rate-limit headers, absent from a 401).
	deniedReadable = []string{"cache-control", "content-length", "content-type", "www-authenticate"}
)

// TestCORSInBrowser lets headless Chromium judge the filter's CORS answers: a page on one
// loopback origin fetches from the gateway on another, and the test asserts what the script
// observed — whether fetch resolved, what it could read — and what reached the upstream.
func TestCORSInBrowser(t *testing.T) {
	browser := startBrowser(t)
	allowed, other := newPage(t), newPage(t) // other is an origin the policy does not list
	e := startGateway(t, corsPolicy(allowed.origin))
	allowed.serve(t)
	other.serve(t)
	tab := browser()
	setCookie(t, tab, e.url, "session", "s1")

	const (
		answered = "portcullis_requests_answered_total"
		denied   = "portcullis_requests_denied_total"
	)
	// Each preflighted case has its own URL: Chromium caches a preflight's answer per URL.
	cases := []struct {
		name string
		from *page
		path string
		init map[string]any
		// wantError is the start of the exception fetch rejected with; "" means it resolved.
		wantError  string
		wantStatus int
		// wantReadable are the exact response header names the script could read, and
		// wantHeaders values among them.
		wantReadable []string
		wantHeaders  [][2]string
		// wantBody is the upstream's account of the request, as the script read it (nil for
		// the filter's own replies); wantBodyHas text the script read.
		wantBody    *seen
		wantBodyHas string
		// wantUpstream are the methods the upstream received, in order.
		wantUpstream []string
		// wantAnswered and wantRejected are the preflights the filter answered with 204 and
		// refused with 403 cors_rejected.
		wantAnswered, wantRejected int64
	}{
		{name: "allowed origin without credentials", from: allowed, path: "/open/items", init: map[string]any{"credentials": "omit"},
			wantStatus: 200, wantReadable: upstreamReadable,
			wantHeaders: [][2]string{{"x-request-id", "r-1"}},
			wantBody:    &seen{Method: "GET", Path: "/open/items", Origin: allowed.origin}, wantUpstream: []string{"GET"}},
		{name: "allowed origin with credentials", from: allowed, path: "/open/items", init: map[string]any{"credentials": "include"},
			wantStatus: 200, wantReadable: upstreamReadable,
			wantBody: &seen{Method: "GET", Path: "/open/items", Origin: allowed.origin, Cookie: "session=s1"}, wantUpstream: []string{"GET"}},
		{name: "custom header: the filter answers the preflight", from: allowed, path: "/open/traced",
			init:       map[string]any{"credentials": "include", "headers": map[string]string{"x-trace": "t-1"}},
			wantStatus: 200, wantReadable: upstreamReadable,
			wantBody:     &seen{Method: "GET", Path: "/open/traced", Origin: allowed.origin, Cookie: "session=s1", Trace: "t-1"},
			wantUpstream: []string{"GET"}, wantAnswered: 1},
		{name: "API key header: the preflight needs no key, the request passes with it", from: allowed, path: "/keyed/items",
			init:       map[string]any{"method": "POST", "headers": map[string]string{"x-api-key": testKey}},
			wantStatus: 200, wantReadable: upstreamReadable,
			wantBody:     &seen{Method: "POST", Path: "/keyed/items", Origin: allowed.origin},
			wantUpstream: []string{"POST"}, wantAnswered: 1},
		{name: "the filter's 401 is readable with WWW-Authenticate", from: allowed, path: "/keyed/items", init: map[string]any{"credentials": "include"},
			wantStatus: 401, wantReadable: deniedReadable,
			wantHeaders: [][2]string{{"www-authenticate", `Bearer realm="portcullis"`}}, wantBodyHas: `"code":"missing_credentials"`},
		{name: "disallowed origin: the response is withheld", from: other, path: "/open/items", init: map[string]any{"credentials": "omit"},
			wantError: "TypeError", wantUpstream: []string{"GET"}}, // a simple request is sent; the browser hides the answer
		{name: "disallowed origin with credentials", from: other, path: "/open/items", init: map[string]any{"credentials": "include"},
			wantError: "TypeError", wantUpstream: []string{"GET"}},
		{name: "disallowed origin: the preflight is refused and nothing reaches the upstream", from: other, path: "/open/refused",
			init: map[string]any{"headers": map[string]string{"x-trace": "t-2"}}, wantError: "TypeError", wantRejected: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, answered0, rejected0 := e.up.count(), e.counter(answered), e.counter(denied, "reason", "cors_rejected")
			got := fetchFrom(t, tab, c.from.origin+"/", e.url+c.path, c.init)

			if c.wantError != "" {
				if !strings.HasPrefix(got.Error, c.wantError) {
					t.Errorf("fetch resolved (status %d, headers %v), want it to fail with %s", got.Status, got.Headers, c.wantError)
				}
			} else if got.Error != "" {
				t.Errorf("fetch failed in the browser: %s", got.Error)
			} else {
				if got.Status != c.wantStatus {
					t.Errorf("status %d, want %d", got.Status, c.wantStatus)
				}
				var names []string
				for _, h := range got.Headers {
					names = append(names, h[0])
				}
				if !slices.Equal(names, c.wantReadable) {
					t.Errorf("script reads headers %q, want exactly %q", names, c.wantReadable)
				}
				for _, want := range c.wantHeaders {
					if !slices.Contains(got.Headers, want) {
						t.Errorf("script does not read %s: %q (reads %q)", want[0], want[1], got.Headers)
					}
				}
			}
			if c.wantBody != nil {
				var body seen
				if err := json.Unmarshal([]byte(got.Body), &body); err != nil || body != *c.wantBody {
					t.Errorf("script read body %q, want the upstream's %+v", got.Body, *c.wantBody)
				}
			}
			if !strings.Contains(got.Body, c.wantBodyHas) {
				t.Errorf("script read body %q, want it to contain %q", got.Body, c.wantBodyHas)
			}

			var methods []string
			for _, s := range e.up.since(before) {
				methods = append(methods, s.Method)
			}
			if !slices.Equal(methods, c.wantUpstream) {
				t.Errorf("upstream received %q, want %q (a preflight must be answered by the filter)", methods, c.wantUpstream)
			}
			if d := e.counter(answered) - answered0; d != c.wantAnswered {
				t.Errorf("%s grew by %d, want %d", answered, d, c.wantAnswered)
			}
			if d := e.counter(denied, "reason", "cors_rejected") - rejected0; d != c.wantRejected {
				t.Errorf("%s{reason=\"cors_rejected\"} grew by %d, want %d", denied, d, c.wantRejected)
			}
		})
	}
}
