package engine

import (
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/policy"
)

// corsPolicy is a route's compiled CORS section. Origins are compared byte for byte with the
// Origin header (browsers always send the lower-case serialization the policy validated), or
// matched against "scheme://*.suffix[:port]" patterns on whole labels — never by substring.
type corsPolicy struct {
	exact       map[string]bool
	patterns    []originPattern
	any         bool // "*"
	credentials bool
	methods     []string
	headers     map[string]bool
	anyHeader   bool
	private     bool

	methodsValue string // Access-Control-Allow-Methods
	maxAge       string
	expose       string // Access-Control-Expose-Headers on upstream responses
	exposeDenied string // ...and on the filter's own replies: its denial headers too

	// noMatch are the edits for requests without an allowed origin: the route's security
	// headers and Vary: Origin, built once so such requests allocate nothing.
	noMatch []HeaderEdit
}

type originPattern struct {
	prefix string // "https://"
	suffix string // ".example.com"
	port   string // ":8443" or ""
}

// deniedExposed are the headers of the filter's own replies a page may need to read.
var deniedExposed = []string{"www-authenticate", "retry-after", "ratelimit", "ratelimit-policy"}

func compileCORS(c *policy.CORS, sec []HeaderEdit) *corsPolicy {
	if c == nil {
		return nil
	}
	p := &corsPolicy{exact: map[string]bool{}, credentials: c.AllowCredentials, methods: c.AllowedMethods,
		headers: map[string]bool{}, private: c.AllowPrivateNetwork}
	for _, o := range c.AllowedOrigins {
		switch {
		case o == "*":
			p.any = true
		case strings.Contains(o, "://*."):
			scheme, rest, _ := strings.Cut(o, "://")
			host, port := rest[1:], ""
			if i := strings.LastIndexByte(host, ':'); i >= 0 {
				host, port = host[:i], host[i:]
			}
			p.patterns = append(p.patterns, originPattern{prefix: scheme + "://", suffix: host, port: port})
		default:
			p.exact[o] = true
		}
	}
	for _, h := range c.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
		}
		p.headers[h] = true
	}
	p.methodsValue = strings.Join(c.AllowedMethods, ", ")
	if c.MaxAgeSeconds > 0 {
		p.maxAge = strconv.Itoa(c.MaxAgeSeconds)
	}
	p.expose = strings.Join(c.ExposedHeaders, ", ")
	denied := slices.Clone(c.ExposedHeaders)
	for _, h := range deniedExposed {
		if !slices.Contains(denied, h) {
			denied = append(denied, h)
		}
	}
	p.exposeDenied = strings.Join(denied, ", ")
	p.noMatch = append(slices.Clip(sec), HeaderEdit{Mode: EditVary, Name: "vary", Value: "Origin"})
	return p
}

func (p *corsPolicy) allowsOrigin(o string) bool {
	if p.any || p.exact[o] {
		return true
	}
	for _, pt := range p.patterns {
		rest, ok := strings.CutPrefix(o, pt.prefix)
		if !ok {
			continue
		}
		if pt.port != "" {
			if rest, ok = strings.CutSuffix(rest, pt.port); !ok {
				continue
			}
		}
		host, ok := strings.CutSuffix(rest, pt.suffix)
		// At least one whole label before the suffix, and nothing that would make the host
		// another authority (a port, a user, a path).
		if ok && host != "" && !strings.ContainsAny(host, ":/@?#[]") && isHostLabels(host) {
			return true
		}
	}
	return false
}

func isHostLabels(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s[0] != '.' && s[len(s)-1] != '.' && !strings.Contains(s, "..")
}

// originHeader returns the request's Origin value; ok is false without exactly one.
func originHeader(headers [][2]string) (string, bool) {
	v, n := "", 0
	for _, h := range headers {
		if equalFold(h[0], "origin") {
			v, n = h[1], n+1
		}
	}
	return v, n == 1
}

// annotate sets the CORS response edits of an actual request: for an allowed origin, the
// origin (or "*"), credentials and exposed headers; Vary: Origin always, so a cache never
// serves one origin's answer to another. No allowed Origin → no Access-Control-* headers.
func (p *corsPolicy) annotate(f *flow) {
	o, ok := originHeader(f.r.Headers)
	if !ok || !p.allowsOrigin(o) {
		f.resp = p.noMatch
		return
	}
	allowOrigin := o
	if p.any && !p.credentials {
		allowOrigin = "*"
	}
	base := f.resp
	edits := make([]HeaderEdit, 0, len(base)+4)
	edits = append(edits, base...)
	edits = append(edits, HeaderEdit{Mode: EditSet, Name: "access-control-allow-origin", Value: allowOrigin})
	if p.credentials {
		edits = append(edits, HeaderEdit{Mode: EditSet, Name: "access-control-allow-credentials", Value: "true"})
	}
	edits = append(edits, HeaderEdit{Mode: EditVary, Name: "vary", Value: "Origin"})
	f.resp = edits
	denied := append(slices.Clip(edits), HeaderEdit{Mode: EditSet, Name: "access-control-expose-headers", Value: p.exposeDenied})
	f.denyResp = denied
	if p.expose != "" {
		f.resp = append(edits, HeaderEdit{Mode: EditSet, Name: "access-control-expose-headers", Value: p.expose})
	}
}

// preflightMethod returns Access-Control-Request-Method when the request carries an Origin,
// i.e. when an OPTIONS request is a CORS preflight; "" otherwise.
func preflightMethod(headers [][2]string) string {
	m, origin := "", false
	for _, h := range headers {
		switch {
		case equalFold(h[0], "access-control-request-method"):
			m = h[1]
		case equalFold(h[0], "origin"):
			origin = true
		}
	}
	if !origin {
		return ""
	}
	return m
}

// corsPreflight answers CORS preflights on the route: 204 with the allowed origin, methods,
// headers and max age, without asking for credentials (browsers never send them on a
// preflight). A preflight the policy does not allow gets 403 cors_rejected. An OPTIONS
// request without Origin and Access-Control-Request-Method is an ordinary request.
type corsPreflight struct{ p *corsPolicy }

func (c corsPreflight) onHeaders(f *flow) Code {
	if f.r.Method != "OPTIONS" {
		return ""
	}
	method := preflightMethod(f.r.Headers)
	if method == "" {
		return ""
	}
	p := c.p
	origin, ok := originHeader(f.r.Headers)
	if !ok || !p.allowsOrigin(origin) || !slices.Contains(p.methods, method) {
		f.denyResp = nil
		f.resp = p.noMatch
		return CodeCORSRejected
	}
	var requested []string
	private := false
	for _, h := range f.r.Headers {
		switch {
		case equalFold(h[0], "access-control-request-headers"):
			for _, name := range strings.Split(h[1], ",") {
				if name = strings.ToLower(trimSpace(name)); name != "" {
					requested = append(requested, name)
				}
			}
		case equalFold(h[0], "access-control-request-private-network"):
			private = equalFold(trimSpace(h[1]), "true")
		}
	}
	for _, name := range requested {
		if !p.headers[name] && !(p.anyHeader && !p.credentials) {
			f.denyResp = nil
			f.resp = p.noMatch
			return CodeCORSRejected
		}
	}
	if private && !p.private {
		f.denyResp = nil
		f.resp = p.noMatch
		return CodeCORSRejected
	}
	allowOrigin := origin
	if p.any && !p.credentials {
		allowOrigin = "*"
	}
	h := [][2]string{{"access-control-allow-origin", allowOrigin}, {"access-control-allow-methods", p.methodsValue}}
	if len(requested) > 0 {
		h = append(h, [2]string{"access-control-allow-headers", strings.Join(requested, ", ")})
	}
	if p.credentials {
		h = append(h, [2]string{"access-control-allow-credentials", "true"})
	}
	if p.maxAge != "" {
		h = append(h, [2]string{"access-control-max-age", p.maxAge})
	}
	if private {
		h = append(h, [2]string{"access-control-allow-private-network", "true"})
	}
	h = append(h, [2]string{"vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"})
	h = ApplyResponseEdits(h, f.rt.secHeaders)
	f.answer = &Decision{Local: true, Status: 204, Headers: h, Stage: StageCORS}
	return codeAnswered
}
