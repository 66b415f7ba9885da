package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

// An upstream that decodes the path reads "/v1/files%3aupload" as "/v1/files:upload"; one that
// does not reads it as written. When the two readings select different routes the filter cannot
// judge the request for both, so it refuses it. Matched on the raw path alone, an encoded ':' or
// '@' or a non-ASCII letter skipped a protected route and landed on the open catch-all (found by
// FuzzPath). A key's allowed paths are checked on the raw path, so an allowed path reached only
// through escapes is refused too.
func TestEncodedPathsSelectingAnotherRouteAreRefused(t *testing.T) {
	sum := sha256.Sum256([]byte("pcs_uploader"))
	e := compile(t, `{"version": 1, "routes": [
		{"name": "upload", "match": {"path_prefix": "/v1/files:upload"}, "auth": {"type": "api_key"}},
		{"name": "me", "match": {"path_prefix": "/users/@me/"}, "auth": {"type": "api_key"}},
		{"name": "cafe", "match": {"path_prefix": "/caf\u00e9/"}, "auth": {"type": "api_key"}},
		{"name": "v1", "match": {"path_prefix": "/v1/"}, "auth": {"type": "api_key"}},
		{"name": "open", "match": {"path_prefix": "/"}, "auth": {"type": "none"}}
	], "keys": [{"id": "uploader", "sha256": "`+hex.EncodeToString(sum[:])+`", "allowed_paths": ["/v1/files:upload", "/v1/caf\u00e9"]}]}`)
	tests := []struct {
		path, key, route, code string
	}{
		{"/v1/files:upload", "", "upload", "missing_credentials"},
		{"/v1/files:upload", "pcs_uploader", "upload", ""},
		{"/caf\u00e9/menu", "", "cafe", "missing_credentials"},
		{"/v1/files%3aupload", "", "", "invalid_path"},
		{"/v1/files%3Aupload/x?y=%3a", "", "", "invalid_path"},
		{"/v1/files%3aupload", "pcs_uploader", "", "invalid_path"},
		{"/users/%40me/x", "", "", "invalid_path"},
		{"/caf%C3%A9/menu", "", "", "invalid_path"},
		{"/caf%c3%a9/", "", "", "invalid_path"},
		{"/v1/caf%C3%A9", "pcs_uploader", "v1", "path_not_allowed"}, // same route; the guard reads it raw
		{"/v1/files%3auploads", "", "v1", "missing_credentials"},    // segment-wise: no other route
		{"/v1/files%3aupload%3a", "", "v1", "missing_credentials"},  // the decoded ':' is no boundary
		{"/caf%C3%A9", "", "open", ""},                              // "/café" is not below "/café/"
		{"/users/%40me", "", "open", ""},
		{"/open/a%20b%3a", "", "open", ""},
		{"/v1/x?q=/v1/files%3aupload", "pcs_uploader", "v1", "path_not_allowed"}, // the query is data
	}
	for _, tt := range tests {
		var h [][2]string
		if tt.key != "" {
			h = [][2]string{{"x-api-key", tt.key}}
		}
		d := e.Decide(&engine.Request{Method: "GET", Authority: "a.example", Path: tt.path, Headers: h, Now: time.Now()})
		if d.Route != tt.route || d.Code != tt.code || d.Allow != (tt.code == "") {
			t.Errorf("%s: route %q, allow %v, code %q; want route %q, code %q", tt.path, d.Route, d.Allow, d.Code, tt.route, tt.code)
		}
	}
}

// A CORS preflight is matched as the method it announces, on the same terms.
func TestEncodedPreflightSelectingAnotherRouteIsRefused(t *testing.T) {
	e := compile(t, `{"version": 1, "routes": [
		{"name": "upload", "match": {"path_prefix": "/v1/files:upload", "methods": ["PUT"]}, "auth": {"type": "none"},
		 "cors": {"allowed_origins": ["https://app.example"], "allowed_methods": ["PUT"]}},
		{"name": "open", "match": {"path_prefix": "/"}, "auth": {"type": "none"}}
	]}`)
	d := e.Decide(&engine.Request{Method: "OPTIONS", Authority: "a.example", Path: "/v1/files%3aupload", Now: time.Now(),
		Headers: [][2]string{{"origin", "https://app.example"}, {"access-control-request-method", "PUT"}}})
	if d.Code != string(engine.CodeInvalidPath) {
		t.Fatalf("preflight: route %q, allow %v, local %v, code %q; want invalid_path", d.Route, d.Allow, d.Local, d.Code)
	}
}
