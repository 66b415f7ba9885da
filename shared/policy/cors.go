package policy

import (
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// DefaultCORSMethods are the methods a CORS section allows when it names none.
var DefaultCORSMethods = []string{"GET", "HEAD", "POST"}

const maxCORSMaxAge = 86400

func readCORS(r *strictjson.Reader, path string) *CORS {
	c := &CORS{}
	isObject := r.Peek() == strictjson.Object
	sawOrigins := false
	for k := range r.Object(path) {
		switch k {
		case "allowed_origins":
			sawOrigins = true
			c.AllowedOrigins = r.Strings(path, k)
		case "allowed_methods":
			c.AllowedMethods = r.Strings(path, k)
		case "allowed_headers":
			c.AllowedHeaders = r.Strings(path, k)
		case "exposed_headers":
			c.ExposedHeaders = r.Strings(path, k)
		case "allow_credentials":
			c.AllowCredentials = r.Bool(path, k)
		case "max_age_seconds":
			c.MaxAgeSeconds = int(r.NonNegativeInt(path, k, maxCORSMaxAge))
		case "allow_private_network":
			c.AllowPrivateNetwork = r.Bool(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	if isObject && !sawOrigins {
		r.FieldErrorf(path, "allowed_origins", `required (origins such as "https://app.example.com")`)
	}
	if len(c.AllowedMethods) == 0 {
		c.AllowedMethods = append([]string(nil), DefaultCORSMethods...)
	}
	return c
}

func checkCORS(d *strictjson.Decoder, c *CORS, path string) {
	op := strictjson.Join(path, "allowed_origins")
	if len(c.AllowedOrigins) == 0 {
		d.FieldErrorf(path, "allowed_origins", "must name at least one origin")
	}
	for i, o := range c.AllowedOrigins {
		switch {
		case o == "*":
			if c.AllowCredentials {
				d.Errorf(strictjson.Index(op, i), `"*" cannot be combined with allow_credentials (browsers refuse it; list the origins)`)
			}
		case o == "null":
		default:
			if msg := originProblem(o); msg != "" {
				d.Errorf(strictjson.Index(op, i), "%s", msg)
			}
		}
	}
	checkUnique(d, c.AllowedOrigins, op)
	for i, m := range c.AllowedMethods {
		if !isMethod(m) {
			d.Errorf(strictjson.Index(strictjson.Join(path, "allowed_methods"), i), "must be an upper-case HTTP method such as GET, not %q", m)
		}
	}
	checkUnique(d, c.AllowedMethods, strictjson.Join(path, "allowed_methods"))
	checkHeaderNames(d, c.AllowedHeaders, strictjson.Join(path, "allowed_headers"), !c.AllowCredentials)
	checkHeaderNames(d, c.ExposedHeaders, strictjson.Join(path, "exposed_headers"), !c.AllowCredentials)
}

// checkHeaderNames lower-cases header names in place and checks them; "*" is a wildcard only
// without credentials (the Fetch standard treats it as a literal name otherwise).
func checkHeaderNames(d *strictjson.Decoder, names []string, path string, starOK bool) {
	for i, n := range names {
		n = strings.ToLower(n)
		names[i] = n
		switch {
		case n == "*" && !starOK:
			d.Errorf(strictjson.Index(path, i), `"*" cannot be combined with allow_credentials`)
		case n != "*" && !isToken(n):
			d.Errorf(strictjson.Index(path, i), "must be a header name")
		}
	}
	checkUnique(d, names, path)
}

// originProblem checks a serialized origin or a wildcard pattern: scheme "http" or "https",
// a lower-case host (a leading "*." allowed), an optional port, nothing else. Origins are
// compared byte for byte with what browsers send, which is always this form.
func originProblem(o string) string {
	const want = `must be an origin such as "https://app.example.com" or "https://*.example.com" (scheme, host and optional port; no path or trailing slash)`
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") || rest == "" {
		return want
	}
	host := rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host = rest[:i]
		port, err := strconv.Atoi(rest[i+1:])
		if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != rest[i+1:] {
			return want
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return "" // an IPv6 literal
	}
	if host != strings.ToLower(host) {
		return "must be lower case, as browsers send it"
	}
	if msg := hostPatternProblem(host); msg != "" || host == "*" {
		return want
	}
	return ""
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
