package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

// credKeys are the credential fuzz policy's keys: raw keys one edit apart (a mutation of one is
// another), one with inner white space and a scheme-like prefix, and keys that must never work.
var credKeys = []struct {
	id, raw string
	active  bool
	expires string
}{
	{"k-a", "pcs_a", true, ""},
	{"k-ab", "pcs_ab", true, ""},
	{"k-spaced", "bearer pcs_a", true, ""},
	{"k-inactive", "pcs_inactive", false, ""},
	{"k-expired", "pcs_expired", true, "2020-01-01T00:00:00Z"},
	{"k-later", "pcs_later", true, "2031-01-01T00:00:00Z"},
}

var credNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func credEngine(t testing.TB) *engine.Engine {
	var keys []string
	for _, k := range credKeys {
		sum := sha256.Sum256([]byte(k.raw))
		expires := ""
		if k.expires != "" {
			expires = `, "expires_at": "` + k.expires + `"`
		}
		keys = append(keys, fmt.Sprintf(`{"id": %q, "name": "key %s", "sha256": %q, "active": %v%s}`, k.id, k.id, hex.EncodeToString(sum[:]), k.active, expires))
	}
	doc, err := policy.Parse([]byte(`{"version": 1, "routes": [
		{"name": "api", "match": {"path_prefix": "/v1/"}, "auth": {"type": "api_key"}},
		{"name": "hidden", "match": {"path_prefix": "/hidden/"}, "auth": {"type": "api_key"}, "hide_credentials": true}
	], "keys": [` + strings.Join(keys, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// FuzzCredentials (seeds in testdata/fuzz/FuzzCredentials) runs requests whose header block is
// fuzzed ("name:value" lines) on an api_key route against refCredential, an independent reading
// of the credential rules: the engine allows exactly when the request carries one well-formed
// credential of a usable key (limits aside), for that key's id and no other; and the upstream
// then sees that id once, no client-sent x-portcullis-* header (under either separator), and no
// credential when the route hides it.
func FuzzCredentials(f *testing.F) {
	e := credEngine(f)
	f.Fuzz(func(t *testing.T, block string, hide bool) {
		headers := parseBlock(block)
		path := "/v1/x"
		if hide {
			path = "/hidden/x"
		}
		d := e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: path, Headers: headers, Now: credNow})
		want, why := refCredential(headers)
		switch {
		case d.Allow && d.KeyID != want:
			t.Fatalf("allowed as %q; the reference reads %q (%s) from %q", d.KeyID, want, why, headers)
		case !d.Allow && want != "" && !limitCode(d.Code):
			t.Fatalf("denied %s; the reference reads one valid credential of %q from %q", d.Code, want, headers)
		case d.Allow:
			if problem := upstreamProblem(engine.ApplyEdits(headers, &d), &d, hide); problem != "" {
				t.Fatalf("allowed %q, but the upstream %s", headers, problem)
			}
		}
	})
}

// parseBlock reads "name:value" lines; a pseudo-header's name keeps its leading ':'.
func parseBlock(block string) [][2]string {
	var out [][2]string
	for line := range strings.SplitSeq(block, "\n") {
		if line == "" {
			continue
		}
		i := strings.IndexByte(line[1:], ':') + 1
		if i == 0 {
			out = append(out, [2]string{line, ""})
			continue
		}
		out = append(out, [2]string{line[:i], line[i+1:]})
	}
	return out
}

// refCredential returns the id of the key the headers authenticate, or "" and why not. Header
// names compare case-insensitively in ASCII only (RFC 9110 field names are tokens); white space
// is SP and HTAB (RFC 9110 OWS).
func refCredential(headers [][2]string) (string, string) {
	var creds [][2]string
	for _, h := range headers {
		if n := asciiLower(h[0]); n == "authorization" || n == "x-api-key" {
			creds = append(creds, [2]string{n, h[1]})
		}
	}
	if len(creds) != 1 {
		return "", fmt.Sprintf("%d credential headers", len(creds))
	}
	name, value := creds[0][0], strings.Trim(creds[0][1], " \t")
	if strings.Contains(value, ",") {
		return "", "a comma: a folded repeated header"
	}
	secret := value
	if name == "authorization" {
		i := strings.IndexAny(value, " \t")
		if i < 0 || asciiLower(value[:i]) != "bearer" {
			return "", "not a Bearer credential"
		}
		secret = strings.Trim(value[i:], " \t")
	}
	for _, k := range credKeys {
		if k.raw != secret {
			continue
		}
		if !k.active {
			return "", "inactive key"
		}
		if k.expires != "" {
			if exp, _ := time.Parse(time.RFC3339, k.expires); !credNow.Before(exp) {
				return "", "expired key"
			}
		}
		return k.id, ""
	}
	return "", "unknown key"
}

func limitCode(code string) bool {
	switch engine.Code(code) {
	case engine.CodeTooManyHeaders, engine.CodeHeadersTooLarge, engine.CodeHeaderValueTooLarge,
		engine.CodeInvalidContentLength, engine.CodeBodyTooLarge:
		return true
	}
	return false
}

// upstreamProblem describes what is wrong with the headers an allowed request reaches the
// upstream with, or returns "": every x-portcullis-* header (either separator: CGI and WSGI
// upstreams read '_' as '-') must be one the engine set, the key id among them, once.
func upstreamProblem(up [][2]string, d *engine.Decision, hidden bool) string {
	seen := map[string]int{}
	for _, h := range up {
		n := asciiLower(h[0])
		switch {
		case strings.HasPrefix(strings.ReplaceAll(n, "_", "-"), engine.HeaderPrefix):
			if !slices.Contains(d.Set, [2]string{n, h[1]}) {
				return fmt.Sprintf("sees %q: %q, which the engine did not set", h[0], h[1])
			}
			if seen[n]++; seen[n] > 1 {
				return fmt.Sprintf("sees %q twice", h[0])
			}
		case hidden && (n == "authorization" || n == "x-api-key"):
			return "sees the hidden credential"
		}
	}
	if !slices.Contains(up, [2]string{engine.HeaderKeyID, d.KeyID}) {
		return fmt.Sprintf("does not see key id %q", d.KeyID)
	}
	return ""
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// The reference must tell each credential apart, or FuzzCredentials could not fail.
func TestCredentialReference(t *testing.T) {
	tests := []struct{ block, want string }{
		{"x-api-key:pcs_a", "k-a"},
		{"X-API-KEY: \tpcs_ab\t", "k-ab"},
		{"authorization:BEARER \t pcs_ab ", "k-ab"},
		{"authorization:Bearer bearer pcs_a", "k-spaced"},
		{"x-api-key:bearer pcs_a", "k-spaced"},
		{":x-api-key:pcs_a\nx-api-key:pcs_later", "k-later"},
		{"authorization:Bearerpcs_a", ""},
		{"authorization:Basic pcs_a", ""},
		{"x-api-key:pcs_a\nAuthorization:Bearer pcs_a", ""},
		{"x-api-key:pcs_a,", ""},
		{"x-api-key:pcs_inactive", ""},
		{"x-api-key:pcs_expired", ""},
		{"x-api-\u212aey:pcs_a", ""}, // the Kelvin sign folds to 'k' in Unicode, not in HTTP
		{"x-api-key :pcs_a", ""},
	}
	for _, tt := range tests {
		if got, why := refCredential(parseBlock(tt.block)); got != tt.want {
			t.Errorf("refCredential(%q) = %q (%s), want %q", tt.block, got, why, tt.want)
		}
	}
	id := [2]string{engine.HeaderKeyID, "k-a"}
	d := &engine.Decision{Allow: true, KeyID: "k-a", Set: [][2]string{id, {engine.HeaderKeyName, "key k-a"}}}
	for _, up := range [][][2]string{
		{id, {"X-Portcullis-Key-Id", "k-a"}},
		{{engine.HeaderKeyName, "key k-a"}},
		{id, {"x-api-key", "pcs_a"}},
		{id, {"X-Portcullis-Route", "x"}},
		{id, {"X_Portcullis_Key_Id", "admin"}},
	} {
		if upstreamProblem(up, d, true) == "" {
			t.Errorf("upstreamProblem(%q) missed the problem", up)
		}
	}
	if p := upstreamProblem([][2]string{id, {engine.HeaderKeyName, "key k-a"}, {"x-api-key", "pcs_a"}}, d, false); p != "" {
		t.Errorf("upstreamProblem of a clean request: %s", p)
	}
}
