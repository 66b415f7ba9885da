package policy

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/strictjson"
)

func TestParseFullDocument(t *testing.T) {
	data, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Document{
		Version:       1,
		DefaultAction: ActionDeny,
		DefaultLimits: Limits{MaxHeaderCount: 50, MaxHeaderBytes: DefaultMaxHeaderBytes, MaxHeaderValueBytes: DefaultMaxHeaderValueBytes, MaxBodyBytes: DefaultMaxBodyBytes},
		Routes: []Route{
			{Name: "health", Match: Match{PathPrefix: "/healthz", Methods: []string{"GET", "HEAD"}}, Auth: Auth{Type: AuthNone}, Limits: DefaultLimitsValue()},
			{Name: "api", Match: Match{Hosts: []string{"api.example.com", "*.internal.example.com"}, PathPrefix: "/api/"},
				Auth: Auth{Type: AuthAPIKey}, HideCredentials: true,
				Limits: Limits{MaxHeaderCount: 20, MaxHeaderBytes: 4096, MaxHeaderValueBytes: 1024, MaxBodyBytes: 1 << 20}},
		},
		Keys: []Key{
			{ID: "k-ci", Name: "CI robot", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Active: true,
				AllowedPaths: []string{"/api/builds"}, Permissions: []string{"builds:write", "builds:read"},
				ExpiresAt: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
			{ID: "k-old", SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Active: false},
		},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", doc, want)
	}
}

// A parsed document marshals (encoding/json, as the control server does) to a document that
// parses back to the same value: the control server and the filter agree on the format.
func TestMarshalRoundTrip(t *testing.T) {
	data, _ := os.ReadFile("testdata/full.json")
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", out, err)
	}
	if !reflect.DeepEqual(doc, again) {
		t.Fatalf("round trip changed the document:\n%+v\n%+v", doc, again)
	}
}

func TestParseErrors(t *testing.T) {
	const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	route := func(extra string) string {
		return `{"version":1,"routes":[{"name":"r","auth":{"type":"api_key"}` + extra + `}]}`
	}
	key := func(fields string) string {
		return `{"version":1,"keys":[{"id":"k","sha256":"` + hash + `"` + fields + `}]}`
	}
	tests := []struct {
		name string
		doc  string
		want []string // every error, in order
	}{
		{"empty", ``, []string{"policy document is empty"}},
		{"not json", `{"version":`, []string{"invalid JSON at byte 11"}},
		{"not an object", `[]`, []string{"must be an object, not array"}},
		{"missing version", `{}`, []string{"version: required (set it to 1)"}},
		{"wrong version", `{"version":2}`, []string{"version: must be 1"}},
		{"unknown top-level field", `{"version":1,"route":[]}`, []string{"route: unknown field"}},
		{"bad default action", `{"version":1,"default_action":"maybe"}`, []string{`default_action: must be "deny" or "allow"`}},
		{"routes not array", `{"version":1,"routes":{}}`, []string{"routes: must be an array, not object"}},
		{"route missing auth", `{"version":1,"routes":[{"name":"r"}]}`, []string{"routes[0].auth: required"}},
		{"route missing name", `{"version":1,"routes":[{"auth":{"type":"none"}}]}`, []string{"routes[0].name: required"}},
		{"bad auth type", route(`,"auth":{"type":"magic"}`), []string{"routes[0].auth: duplicate field"}},
		{"unknown auth type", `{"version":1,"routes":[{"name":"r","auth":{"type":"magic"}}]}`, []string{`routes[0].auth.type: must be "api_key", "jwt", "api_key_or_jwt", "webhook" or "none", not "magic"`}},
		{"auth without type", `{"version":1,"routes":[{"name":"r","auth":{}}]}`, []string{`routes[0].auth.type: required`}},
		{"negative body limit", route(`,"limits":{"max_body_bytes":-1}`), []string{"routes[0].limits.max_body_bytes: must be positive"}},
		{"zero header count", route(`,"limits":{"max_header_count":0}`), []string{"routes[0].limits.max_header_count: must be positive"}},
		{"fractional limit", route(`,"limits":{"max_header_bytes":1.5}`), []string{"routes[0].limits.max_header_bytes: must be an integer"}},
		{"limit too large", route(`,"limits":{"max_header_count":100000}`), []string{"routes[0].limits.max_header_count: must be at most 10000"}},
		{"value above total", route(`,"limits":{"max_header_bytes":100,"max_header_value_bytes":200}`), []string{"routes[0].limits.max_header_value_bytes: must not exceed max_header_bytes (100)"}},
		{"unknown limit", route(`,"limits":{"max_headers":1}`), []string{"routes[0].limits.max_headers: unknown field"}},
		{"empty prefix", route(`,"match":{"path_prefix":""}`), []string{"routes[0].match.path_prefix: must not be empty"}},
		{"relative prefix", route(`,"match":{"path_prefix":"api"}`), []string{"routes[0].match.path_prefix: must start with '/'"}},
		{"dot segment prefix", route(`,"match":{"path_prefix":"/a/../b"}`), []string{"routes[0].match.path_prefix: must not contain '.' or '..' segments"}},
		{"encoded prefix", route(`,"match":{"path_prefix":"/a%2f"}`), []string{"routes[0].match.path_prefix: must not contain '?'"}},
		{"bad host", route(`,"match":{"hosts":["ok.example.com","bad host"]}`), []string{"routes[0].match.hosts[1]: must be a host name"}},
		{"host with port", route(`,"match":{"hosts":["a.com:80"]}`), []string{"routes[0].match.hosts[0]: must be a host name"}},
		{"inner wildcard", route(`,"match":{"hosts":["a*.b.com"]}`), []string{"routes[0].match.hosts[0]: must be a host name"}},
		{"bare wildcard dot", route(`,"match":{"hosts":["*."]}`), []string{"routes[0].match.hosts[0]: must be a host name"}},
		{"duplicate host", route(`,"match":{"hosts":["A.com","a.com"]}`), []string{`routes[0].match.hosts[1]: duplicates [0] "a.com"`}},
		{"lower-case method", route(`,"match":{"methods":["get"]}`), []string{`routes[0].match.methods[0]: must be an upper-case HTTP method such as GET, not "get"`}},
		{"method not string", route(`,"match":{"methods":[1]}`), []string{`routes[0].match.methods[0]: must be a string, not number`}},
		{"duplicate route names", `{"version":1,"routes":[{"name":"r","auth":{"type":"none"}},{"name":"r","auth":{"type":"none"}}]}`, []string{`routes[1].name: duplicates routes[0].name "r"`}},
		{"bad route name", `{"version":1,"routes":[{"name":"a b","auth":{"type":"none"}}]}`, []string{"routes[0].name: must be 1-64 letters"}},
		{"key without hash", `{"version":1,"keys":[{"id":"k"}]}`, []string{"keys[0].sha256: required"}},
		{"short hash", `{"version":1,"keys":[{"id":"k","sha256":"abc"}]}`, []string{"keys[0].sha256: must be 64 hex digits"}},
		{"key without id", `{"version":1,"keys":[{"sha256":"` + hash + `"}]}`, []string{"keys[0].id: required"}},
		{"duplicate ids and hashes", `{"version":1,"keys":[{"id":"k","sha256":"` + hash + `"},{"id":"k","sha256":"` + strings.ToUpper(hash) + `"}]}`,
			[]string{`keys[1].id: duplicates keys[0].id "k"`, "keys[1].sha256: duplicates keys[0].sha256"}},
		{"key name with newline", key(`,"name":"a\nb"`), []string{"keys[0].name: must be at most 200 bytes without control characters"}},
		{"bad expiry", key(`,"expires_at":"tomorrow"`), []string{"keys[0].expires_at: must be an RFC 3339 timestamp"}},
		{"bad allowed path", key(`,"allowed_paths":["/ok","nope"]`), []string{"keys[0].allowed_paths[1]: must start with '/'"}},
		{"bad permission", key(`,"permissions":["read","has space"]`), []string{"keys[0].permissions[1]: must be 1-128 letters"}},
		{"active not bool", key(`,"active":"yes"`), []string{"keys[0].active: must be true or false, not string"}},
		{"unknown key field", key(`,"secret":"x"`), []string{"keys[0].secret: unknown field"}},
		{"duplicate permission", key(`,"permissions":["a","b","a"]`), []string{`keys[0].permissions[2]: duplicates [0] "a"`}},
		{"duplicate allowed path", key(`,"allowed_paths":["/a","/a"]`), []string{`keys[0].allowed_paths[1]: duplicates [0] "/a"`}},
		// One pass reports decoding problems (first) and what validation finds in the values that
		// did decode; what a decoding problem covers (its path and anything under it) is not
		// reported again: no "required" after "must be a string", nothing inside a duplicate.
		{"several errors at once", `{"version":1,"routes":[{"name":"r","auth":{"type":"none"},"limits":{"max_body_bytes":0}}],"keys":[{"id":"","sha256":"zz"}]}`,
			[]string{"routes[0].limits.max_body_bytes: must be positive", "keys[0].id: required", "keys[0].sha256: must be 64 hex digits"}},
		{"every problem in one pass", `{"version":2,"default_action":"maybe","rules":1,"routes":[` +
			`{"name":"a b","match":{"path_prefix":"api","methods":["get",5,"GET","GET"],"hosts":["bad host"]},"auth":{"type":"magic"}},` +
			`{"name":"x","limits":{"max_body_bytes":0,"max_header_bytes":10,"max_header_value_bytes":20}},` +
			`{"name":"x","auth":{"type":"none"}},{"name":5,"auth":5}],` +
			`"keys":[{"id":"k k","sha256":"zz","name":"a\nb","allowed_paths":["nope"],"permissions":["has space"],"active":"yes"},{"id":"k2","sha256":1}]}`,
			[]string{
				"version: must be 1", `default_action: must be "deny" or "allow"`, "rules: unknown field",
				"routes[0].match.methods[1]: must be a string, not number", "routes[1].limits.max_body_bytes: must be positive",
				"routes[1].auth: required", "routes[3].name: must be a string, not number", "routes[3].auth: must be an object, not number",
				"keys[0].active: must be true or false, not string", "keys[1].sha256: must be a string, not number",
				"routes[0].name: must be 1-64 letters", "routes[0].match.hosts[0]: must be a host name",
				"routes[0].match.path_prefix: must start with '/'",
				`routes[0].match.methods[0]: must be an upper-case HTTP method such as GET, not "get"`,
				`routes[0].match.methods[3]: duplicates [2] "GET"`,
				`routes[0].auth.type: must be "api_key", "jwt", "api_key_or_jwt", "webhook" or "none", not "magic"`,
				"routes[1].limits.max_header_value_bytes: must not exceed max_header_bytes (10)",
				`routes[2].name: duplicates routes[1].name "x"`,
				"keys[0].id: must be 1-128 letters", "keys[0].name: must be at most 200 bytes",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", doc)
			}
			if doc != nil {
				t.Fatal("Parse returned a document with an error")
			}
			var got []string
			var fe *strictjson.Errors
			if errors.As(err, &fe) {
				for _, e := range fe.List {
					got = append(got, e.Error())
				}
			} else {
				got = []string{err.Error()}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors = %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestParseTooManyRoutes: past MaxRoutes the document is refused with one error, not one per
// extra route, and the extra routes are not kept.
func TestParseTooManyRoutes(t *testing.T) {
	route := `{"match": {"path_prefix": "/"}, "auth": {"type": "none"}}`
	doc := `{"version": 1, "routes": [` + strings.Repeat(route+",", MaxRoutes+2) + route + `]}`
	got, err := Parse([]byte(doc))
	var errs *strictjson.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want field errors", err)
	}
	want := []strictjson.FieldError{{Path: "routes", Msg: "has more than 10000 routes"}}
	if !reflect.DeepEqual(errs.List, want) || errs.Dropped != 0 {
		t.Fatalf("errors = %+v (+%d dropped), want %+v", errs.List, errs.Dropped, want)
	}
	if got != nil {
		t.Fatalf("Parse returned a document with %d routes", len(got.Routes))
	}
}
