package policy

import (
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// identityHeaders are the x-portcullis-* headers the identity itself sets; a claim header may
// not take one of their names.
var identityHeaders = []string{"x-portcullis-auth", "x-portcullis-key-id", "x-portcullis-key-name", "x-portcullis-user-id", "x-portcullis-permissions"}

func checkJWTProviders(d *strictjson.Decoder, ps []JWTProvider, path string) {
	names := make(map[string]int, len(ps))
	for i := range ps {
		p := &ps[i]
		pp := strictjson.Index(path, i)
		switch {
		case !isIdentifier(p.Name, 64):
			d.FieldErrorf(pp, "name", "required: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		default:
			if j, dup := names[p.Name]; dup {
				d.FieldErrorf(pp, "name", "duplicates jwt_providers[%d].name %q", j, p.Name)
			}
			names[p.Name] = i
		}
		if p.Issuer == "" || len(p.Issuer) > 1024 || hasControl(p.Issuer) {
			d.FieldErrorf(pp, "issuer", "required: the exact iss of the provider's tokens (at most 1024 bytes)")
		}
		if len(p.Audiences) == 0 {
			d.FieldErrorf(pp, "audiences", "required: at least one audience a token must name")
		}
		for j, a := range p.Audiences {
			if a == "" || a == "*" || len(a) > 1024 || hasControl(a) {
				d.Errorf(strictjson.Index(strictjson.Join(pp, "audiences"), j), `must be an exact audience ("*" is not a wildcard and is refused)`)
			}
		}
		checkUnique(d, p.Audiences, strictjson.Join(pp, "audiences"))
		if len(p.Algorithms) == 0 {
			d.FieldErrorf(pp, "algorithms", "required: the algorithms this provider signs with, e.g. [\"RS256\"]")
		}
		for j, a := range p.Algorithms {
			if !slices.Contains(Algorithms, a) {
				d.Errorf(strictjson.Index(strictjson.Join(pp, "algorithms"), j), "must be one of %s (case-sensitive), not %q", strings.Join(Algorithms, ", "), a)
			}
		}
		checkUnique(d, p.Algorithms, strictjson.Join(pp, "algorithms"))
		switch {
		case p.JWKS == nil && p.JWKSURI == "":
			d.FieldErrorf(pp, "jwks", "required: an inline JWKS, or jwks_uri for keys the control server fetches")
		case p.JWKS == nil && p.JWKSURI != "":
		default:
			checkJWKS(d, p, strictjson.Join(pp, "jwks"))
		}
		if p.JWKSURI != "" {
			if msg := jwksURIProblem(p.JWKSURI); msg != "" {
				d.FieldErrorf(pp, "jwks_uri", "%s", msg)
			}
		}
		if len(p.Typ) > 64 || hasControl(p.Typ) || strings.Contains(p.Typ, " ") {
			d.FieldErrorf(pp, "typ", "must be a media type such as \"at+jwt\" (at most 64 bytes)")
		}
		if p.From != nil {
			checkTokenSource(d, p.From, strictjson.Join(pp, "from"))
		}
		if p.Claims != nil {
			checkClaimMapping(d, p.Claims, strictjson.Join(pp, "claims"))
		}
	}
}

// jwksURIProblem accepts https URLs, and http only on loopback (a local issuer in tests).
func jwksURIProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "must be an absolute https URL without credentials or fragment"
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return "must use https (http only for localhost)"
		}
	default:
		return "must use https"
	}
	return ""
}

func checkJWKS(d *strictjson.Decoder, p *JWTProvider, path string) {
	kp := strictjson.Join(path, "keys")
	kids := map[string]int{}
	for i := range p.JWKS.Keys {
		k := &p.JWKS.Keys[i]
		ip := strictjson.Index(kp, i)
		if _, err := k.PublicKey(); err != nil {
			d.Errorf(ip, "%v", err)
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			d.FieldErrorf(ip, "use", `must be "sig": this key set verifies signatures`)
		}
		if k.Alg != "" && !slices.Contains(Algorithms, k.Alg) {
			d.FieldErrorf(ip, "alg", "must be one of %s", strings.Join(Algorithms, ", "))
		}
		fits := false
		for _, a := range p.Algorithms {
			fits = fits || k.Fits(a)
		}
		if !fits {
			d.Errorf(ip, "fits none of the provider's algorithms (kty %q, crv %q, alg %q)", k.Kty, k.Crv, k.Alg)
		}
		switch {
		case k.Kid == "" && len(p.JWKS.Keys) > 1:
			d.FieldErrorf(ip, "kid", "required when the set has more than one key (tokens pick their key by kid)")
		case len(k.Kid) > 256 || hasControl(k.Kid):
			d.FieldErrorf(ip, "kid", "must be at most 256 bytes without control characters")
		case k.Kid != "":
			if j, dup := kids[k.Kid]; dup {
				d.FieldErrorf(ip, "kid", "duplicates keys[%d].kid %q", j, k.Kid)
			}
			kids[k.Kid] = i
		}
	}
}

func checkTokenSource(d *strictjson.Decoder, s *TokenSource, path string) {
	set := 0
	for _, v := range []string{s.Header, s.Cookie, s.Query} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		d.Errorf(path, `must name exactly one of "header", "cookie" or "query"`)
		return
	}
	switch {
	case s.Header != "":
		s.Header = strings.ToLower(s.Header)
		if !isToken(s.Header) || s.Header == "x-api-key" || strings.HasPrefix(s.Header, "x-portcullis-") || s.Header == "cookie" {
			d.FieldErrorf(path, "header", "must be a header name other than x-api-key, cookie and x-portcullis-*")
		}
	case s.Cookie != "":
		if !isToken(s.Cookie) {
			d.FieldErrorf(path, "cookie", "must be a cookie name (an HTTP token)")
		}
	case s.Query != "":
		if !isToken(s.Query) {
			d.FieldErrorf(path, "query", "must be a query parameter name (an HTTP token)")
		}
	}
}

// IsBearer reports whether the source is the Authorization header (the default).
func (s *TokenSource) IsBearer() bool {
	return s == nil || s.Header == "authorization"
}

// registeredClaims are read by the verifier itself and cannot be mapped.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

func checkClaimMapping(d *strictjson.Decoder, m *ClaimMapping, path string) {
	for _, f := range []struct{ field, v string }{{"permissions", m.Permissions}, {"admin", m.Admin}, {"staff", m.Staff}} {
		if len(f.v) > 128 || hasControl(f.v) || slices.Contains(registeredClaims, f.v) {
			d.FieldErrorf(path, f.field, "must be a claim name of at most 128 bytes, not a registered claim (%s)", strings.Join(registeredClaims, ", "))
		}
	}
	hp := strictjson.Join(path, "headers")
	seen := map[string]int{}
	for i := range m.Headers {
		h := &m.Headers[i]
		ip := strictjson.Index(hp, i)
		if h.Claim == "" || len(h.Claim) > 128 || hasControl(h.Claim) || slices.Contains(registeredClaims, h.Claim) {
			d.FieldErrorf(ip, "claim", "required: a claim name of at most 128 bytes, not a registered claim (sub is x-portcullis-user-id)")
		}
		h.Header = strings.ToLower(h.Header)
		switch {
		case !isToken(h.Header) || !strings.HasPrefix(h.Header, "x-portcullis-") || len(h.Header) == len("x-portcullis-"):
			d.FieldErrorf(ip, "header", "must be a header name starting with x-portcullis- (a client can never send those)")
		case slices.Contains(identityHeaders, h.Header):
			d.FieldErrorf(ip, "header", "%s is set by the identity itself", h.Header)
		default:
			if j, dup := seen[h.Header]; dup {
				d.FieldErrorf(ip, "header", "duplicates headers[%d].header %q", j, h.Header)
			}
			seen[h.Header] = i
		}
	}
}

// checkRouteAuth checks the route's auth type and its provider reference.
func checkRouteAuth(d *strictjson.Decoder, doc *Document, r *Route, path string) {
	ap := strictjson.Join(path, "auth")
	switch r.Auth.Type {
	case AuthAPIKey, AuthNone, AuthWebhook:
		if r.Auth.Provider != "" {
			d.FieldErrorf(ap, "provider", "only for auth types jwt and api_key_or_jwt")
		}
		return
	case AuthJWT, AuthAPIKeyOrJWT:
	default:
		d.FieldErrorf(ap, "type", `must be "api_key", "jwt", "api_key_or_jwt", "webhook" or "none", not %q`, r.Auth.Type)
		return
	}
	var p *JWTProvider
	for i := range doc.JWTProviders {
		if doc.JWTProviders[i].Name == r.Auth.Provider {
			p = &doc.JWTProviders[i]
		}
	}
	if p == nil {
		d.FieldErrorf(ap, "provider", "must name one of jwt_providers, not %q", r.Auth.Provider)
		return
	}
	if r.Auth.Type == AuthAPIKeyOrJWT && !p.From.IsBearer() {
		d.FieldErrorf(ap, "provider", "api_key_or_jwt needs a provider reading Authorization: Bearer (its from is another source)")
	}
	if r.HideCredentials && p.From != nil && p.From.Header == "" {
		d.FieldErrorf(path, "hide_credentials", "supported for tokens in a header only (provider %q reads a cookie or query parameter)", p.Name)
	}
}

func checkRevocations(d *strictjson.Decoder, list []Revocation, path string) {
	seen := make(map[string]int, len(list))
	for i := range list {
		v := &list[i]
		ip := func() string { return strictjson.Index(path, i) }
		if v.JTI == "" || len(v.JTI) > 256 || hasControl(v.JTI) {
			d.FieldErrorf(ip(), "jti", "required: at most 256 bytes without control characters")
		} else if j, dup := seen[v.JTI]; dup {
			d.FieldErrorf(ip(), "jti", "duplicates revoked_tokens[%d].jti", j)
		} else {
			seen[v.JTI] = i
		}
		if v.ExpiresAt.IsZero() {
			d.FieldErrorf(ip(), "expires_at", "required: when the token expires (RFC 3339)")
		}
	}
}
