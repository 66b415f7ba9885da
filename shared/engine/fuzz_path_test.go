package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

// The path fuzz policy: prefixes with the characters a client may legitimately percent-encode
// (':', '@', non-ASCII) next to plain ones, an open catch-all a bypass would land on, and a key
// limited to some of them.
const (
	pathKey      = "pcs_fuzz_path_key_0001"
	pathPolicyFm = `{"version": 1,
	"routes": [%s
		{"name": "upload", "match": {"path_prefix": "/v1/files:upload"}, "auth": {"type": "api_key"}},
		{"name": "me", "match": {"path_prefix": "/users/@me/"}, "auth": {"type": "api_key"}},
		{"name": "cafe", "match": {"path_prefix": "/caf\u00e9/"}, "auth": {"type": "api_key"}},
		{"name": "admin", "match": {"path_prefix": "/admin"}, "auth": {"type": "api_key"}},
		{"name": "public", "match": {"path_prefix": "/public/"}, "auth": {"type": "api_key"}},
		{"name": "open", "match": {"path_prefix": "/open"}, "auth": {"type": "none"}},
		{"name": "root", "match": {"path_prefix": "/"}, "auth": {"type": "none"}}
	],
	"keys": [{"id": "limited", "sha256": %q, "allowed_paths": ["/public/", "/v1/files:upload", "/users/@me/"]}]}`
)

// pathFuzzer compiles the fixed policy, plus a first route on a fuzzed prefix when that prefix
// is one the policy accepts.
type pathFuzzer struct {
	base           *engine.Engine
	baseDoc        *policy.Document
	lastPrefix     string
	last           *engine.Engine
	lastDoc        *policy.Document
	allowedOfLimit []string
}

func newPathFuzzer(t testing.TB) *pathFuzzer {
	e, doc, err := compilePathPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	return &pathFuzzer{base: e, baseDoc: doc, allowedOfLimit: doc.Keys[0].AllowedPaths}
}

func compilePathPolicy(prefix string) (*engine.Engine, *policy.Document, error) {
	sum := sha256.Sum256([]byte(pathKey))
	extra := ""
	if prefix != "" {
		q, _ := json.Marshal(prefix)
		extra = `{"name": "fuzzed", "match": {"path_prefix": ` + string(q) + `}, "auth": {"type": "api_key"}},`
	}
	doc, err := policy.Parse(fmt.Appendf(nil, pathPolicyFm, extra, hex.EncodeToString(sum[:])))
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.Compile(doc)
	return e, doc, err
}

func (p *pathFuzzer) engine(prefix string) (*engine.Engine, *policy.Document) {
	if prefix == "" {
		return p.base, p.baseDoc
	}
	if prefix != p.lastPrefix {
		p.lastPrefix, p.last, p.lastDoc = prefix, nil, nil
		if e, doc, err := compilePathPolicy(prefix); err == nil {
			p.last, p.lastDoc = e, doc
		}
	}
	if p.last == nil {
		return p.base, p.baseDoc
	}
	return p.last, p.lastDoc
}

// FuzzPath (seeds in testdata/fuzz/FuzzPath) checks path hygiene against refPath, an
// independent model of an upstream that percent-decodes the path once: whenever the engine lets
// a :path past its path check, that upstream sees no '#', no control character, no '\', no
// encoded '/', no dot segment (also not behind ';' parameters); the raw and the decoded path
// select the same route, the one the engine chose; and the limited key is allowed only where
// both are among its allowed paths. So the decision holds for an upstream that decodes the
// path and for one that does not. Plainly clean paths must pass, so a check that refused
// everything would fail too.
//
// The path is the fuzzed string after the fuzzed URL edits (see applyEdits): Go's fuzzer mutates
// bytes and has no comparison feedback, so without them it would seldom turn ":" into "%3a" or
// "." into "%2e", the very rewrites whose meaning an upstream and a filter may disagree on.
func FuzzPath(f *testing.F) {
	pf := newPathFuzzer(f)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, path, prefix string, edits []byte) {
		path = applyEdits(path, edits)
		e, doc := pf.engine(prefix)
		d := e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: path,
			Headers: [][2]string{{"x-api-key", pathKey}}, Now: now})
		if d.Code == string(engine.CodeInvalidPath) {
			if plainlyClean(path) {
				t.Fatalf("%q refused as invalid_path, but it is plainly clean", path)
			}
			return
		}
		if problem := refPath(path, doc, pf.allowedOfLimit, &d); problem != "" {
			t.Fatalf("engine accepted %q (route %q, allow %v, code %q); %s", path, d.Route, d.Allow, d.Code, problem)
		}
	})
}

// urlTokens are what applyEdits inserts: URL syntax and the words of the policy's prefixes.
var urlTokens = []string{"/", ".", "..", ";", "?", "#", "%", "\\", ":", "@", "=", "&",
	"v1", "files", "upload", "users", "me", "caf", "\u00e9", "admin", "public", "open"}

// applyEdits rewrites path with the edits, three bytes each (operation, position, value), the
// position taken modulo the path's length: 0 percent-encodes the byte there (value's low bit
// picks the hex case), 1 inserts a token, 2 replaces the byte with a token, 3 inserts value
// percent-encoded. At most 16 edits count.
func applyEdits(path string, edits []byte) string {
	for n := 0; len(edits) >= 3 && n < 16; n, edits = n+1, edits[3:] {
		op, val := edits[0]%4, edits[2]
		i := 0
		if path != "" {
			i = int(edits[1]) % len(path)
		}
		switch tok := urlTokens[int(val)%len(urlTokens)]; {
		case op == 0 && path != "":
			format := "%%%02x"
			if val&1 == 1 {
				format = "%%%02X"
			}
			path = path[:i] + fmt.Sprintf(format, path[i]) + path[i+1:]
		case op == 1:
			path = path[:i] + tok + path[i:]
		case op == 2 && path != "":
			path = path[:i] + tok + path[i+1:]
		case op == 3:
			path = path[:i] + fmt.Sprintf("%%%02x", val) + path[i:]
		}
	}
	return path
}

// refPath returns what an upstream that decodes path once would see differently from the engine,
// which decided d; "" when nothing.
func refPath(raw string, doc *policy.Document, allowed []string, d *engine.Decision) string {
	if strings.IndexByte(raw, '#') >= 0 {
		return "it holds '#': a request target has no fragment, and what follows it escaped the checks"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			return fmt.Sprintf("it holds the control character %#x", c)
		}
	}
	p, _, _ := strings.Cut(raw, "?")
	if !strings.HasPrefix(p, "/") {
		return "the path is not absolute"
	}
	dec, ok := decodeOnce(p)
	if !ok {
		return "it holds a malformed percent-escape, which upstreams read in different ways"
	}
	for i := 0; i < len(dec); i++ {
		switch c := dec[i]; {
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("decoded, it holds the control character %#x", c)
		case c == '\\':
			return "decoded, it holds '\\', a separator for some upstreams"
		}
	}
	if strings.Count(dec, "/") != strings.Count(p, "/") {
		return "it holds an encoded '/', which splits a segment in two upstream"
	}
	segs := strings.Split(dec[1:], "/")
	for i, s := range segs {
		name, _, _ := strings.Cut(s, ";") // Tomcat and Spring drop ";params" before resolving dots
		switch {
		case name == "." || name == "..":
			return fmt.Sprintf("decoded, segment %q is a dot segment", s)
		case s == "" && i < len(segs)-1:
			return "it has an empty segment"
		}
	}
	onRaw, onDecoded := firstRoute(doc, p), firstRoute(doc, dec)
	switch {
	case onRaw != onDecoded:
		return fmt.Sprintf("the raw path selects route %q, the decoded path route %q", onRaw, onDecoded)
	case d.Route != onDecoded:
		return fmt.Sprintf("the engine chose route %q, the path selects %q", d.Route, onDecoded)
	case d.Allow && d.KeyID == "limited" && !(anySegmentPrefix(p, allowed) && anySegmentPrefix(dec, allowed)):
		return fmt.Sprintf("the key limited to %q was allowed", allowed)
	}
	return ""
}

// firstRoute is the name of the first route whose prefix holds path, or "" (the fuzz policy's
// routes have no host or method conditions).
func firstRoute(doc *policy.Document, path string) string {
	for _, r := range doc.Routes {
		if segmentPrefix(path, r.Match.PathPrefix) {
			return r.Name
		}
	}
	return ""
}

// decodeOnce percent-decodes s, or reports a malformed escape.
func decodeOnce(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		var v byte
		for _, c := range []byte{s[i+1], s[i+2]} {
			switch {
			case '0' <= c && c <= '9':
				v = v<<4 | (c - '0')
			case 'a' <= c && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			case 'A' <= c && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				return "", false
			}
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), true
}

// segmentPrefix is the documented prefix rule: whole segments, or anything below a prefix that
// ends in '/'.
func segmentPrefix(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || strings.HasSuffix(prefix, "/") || rest[0] == '/')
}

func anySegmentPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if segmentPrefix(path, p) {
			return true
		}
	}
	return false
}

// plainlyClean: an absolute path of unreserved characters without empty or dot segments, and a
// query of letters, digits, '=' and '&'. Nothing about it is ambiguous.
func plainlyClean(raw string) bool {
	p, q, _ := strings.Cut(raw, "?")
	if !strings.HasPrefix(p, "/") {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if (s == "" && i < len(segs)-1) || s == "." || s == ".." {
			return false
		}
		for j := 0; j < len(s); j++ {
			if c := s[j]; !isAlnum(c) && !strings.ContainsRune("-._~", rune(c)) {
				return false
			}
		}
	}
	for j := 0; j < len(q); j++ {
		if c := q[j]; !isAlnum(c) && c != '=' && c != '&' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// The reference model must flag every known way a path can mean two things, or FuzzPath could
// not fail. Each case gives the engine's decision as the raw path would have it.
func TestPathReference(t *testing.T) {
	pf := newPathFuzzer(t)
	tests := []struct {
		path, route, want string
		allowLimited      bool
	}{
		{"/public/x", "public", "", true},
		{"/caf%C3%A9", "root", "", false},
		{"/public/a;v=1/b?q=%00", "public", "", true},
		{"/open#/../admin", "open", "'#'", false},
		{"/public/x#/../../admin", "public", "'#'", true},
		{"/public/a\r\nb", "public", "control character 0xd", true},
		{"/public/a%0d%0ab", "public", "decoded, it holds the control character 0xd", true},
		{"/public/a%7f", "public", "control character 0x7f", true},
		{"/public/..;/admin", "public", "dot segment", true},
		{"/public/%2e%2e;x/admin", "public", "dot segment", true},
		{"/public/..%3b/admin", "public", "dot segment", true},
		{"/public/.;/x", "public", "dot segment", true},
		{"/public/a%2f..%2fadmin", "public", "encoded '/'", true},
		{"/public/a%5cb", "public", "'\\'", true},
		{"/public/%zz", "public", "malformed", true},
		{"/public//x", "public", "empty segment", true},
		{"/v1/files%3aupload", "root", `route "upload"`, false},
		{"/users/%40me/x", "root", `route "me"`, false},
		{"/caf%c3%a9/menu", "root", `route "cafe"`, false},
		{"/%61dmin", "root", `route "admin"`, false},
		{"/public/x", "root", `chose route "root"`, false},
		{"/admin", "admin", "limited", true},
	}
	for _, tt := range tests {
		d := engine.Decision{Route: tt.route, Allow: tt.allowLimited}
		if tt.allowLimited {
			d.KeyID = "limited"
		}
		got := refPath(tt.path, pf.baseDoc, pf.allowedOfLimit, &d)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("refPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestApplyEdits(t *testing.T) {
	tests := []struct {
		path  string
		edits []byte
		want  string
	}{
		{"/a:b", nil, "/a:b"},
		{"/a:b", []byte{0, 2, 0}, "/a%3ab"},
		{"/a:b", []byte{0, 2, 1, 9}, "/a%3Ab"},      // a trailing partial edit is ignored
		{"/a.", []byte{4, 7, 1, 1, 1, 0}, "//%61."}, // positions wrap; op 4 is op 0
		{"/ab", []byte{2, 1, 4}, "/?b"},
		{"", []byte{0, 0, 0, 1, 5, 0}, "/"},
		{"/a", []byte{3, 1, 0x0d, 1, 2, 2}, "/%..0da"},
	}
	for _, tt := range tests {
		if got := applyEdits(tt.path, tt.edits); got != tt.want {
			t.Errorf("applyEdits(%q, %v) = %q, want %q", tt.path, tt.edits, got, tt.want)
		}
	}
}
