package engine

import (
	"strings"
	"time"
)

// jwtCheck authenticates with a JWT from the route's provider (auth type jwt), or with either
// an API key or such a token (api_key_or_jwt): a Bearer value shaped like a compact JWS is a
// token, anything else a key. Exactly one credential per request either way.
type jwtCheck struct {
	p     *jwtProvider
	orKey bool
}

func (c *jwtCheck) onHeaders(f *flow) Code {
	s := &f.scan
	if c.orKey {
		if s.authorization == 1 && s.apiKey == 0 && strings.IndexByte(s.authValue, ',') < 0 {
			if tok, ok := bearerToken(s.authValue); ok && isJWS(tok) {
				return c.authenticate(f, tok, "authorization")
			}
		}
		return apiKeyCheck{}.onHeaders(f) // duplicates, both headers, no credential: as for keys
	}
	tok, header, code := c.p.source.extract(f)
	if code != "" {
		return code
	}
	return c.authenticate(f, tok, header)
}

func (c *jwtCheck) authenticate(f *flow, tok, header string) Code {
	id, code := f.e.verifyToken(c.p, tok, f.r.Now)
	if code != "" {
		return code
	}
	f.identity, f.credHeader = id, header
	return ""
}

// verifyToken answers from the cache when it can, else verifies and caches. Revocation and
// expiry are checked on every request, hit or miss.
func (e *Engine) verifyToken(p *jwtProvider, tok string, now time.Time) (*Identity, Code) {
	if len(tok) > MaxTokenBytes {
		return nil, CodeInvalidToken
	}
	if hit := e.tokens.get(p, tok); hit != nil {
		if !now.Before(hit.validUntil) {
			return nil, CodeTokenExpired
		}
		if e.isRevoked(hit.jti) {
			return nil, CodeTokenRevoked
		}
		return hit.id, ""
	}
	v, code := p.verify(tok, now)
	if code != "" {
		return nil, code
	}
	if e.isRevoked(v.jti) {
		return nil, CodeTokenRevoked
	}
	e.tokens.put(p, tok, v)
	return v.id, ""
}

func (e *Engine) isRevoked(jti string) bool {
	if jti == "" || len(e.revoked) == 0 {
		return false
	}
	_, ok := e.revoked[jti]
	return ok
}

// extract finds the token in the provider's source. Another credential header next to it is
// ambiguous (400), a repeated source a duplicate (400), none a missing token (401).
func (s *tokenSource) extract(f *flow) (tok, header string, code Code) {
	sc := &f.scan
	if s.kind == sourceBearer {
		switch {
		case sc.authorization > 1 || sc.apiKey > 1:
			return "", "", CodeDuplicateCredentials
		case sc.apiKey > 0 && sc.authorization > 0:
			return "", "", CodeAmbiguousCredentials
		case sc.authorization == 0 && sc.apiKey > 0:
			return "", "", CodeMissingToken // an API key where only tokens are accepted
		case sc.authorization == 0:
			return "", "", CodeMissingToken
		}
		if strings.IndexByte(sc.authValue, ',') >= 0 {
			return "", "", CodeDuplicateCredentials // Envoy joins a repeated header with commas
		}
		tok, ok := bearerToken(sc.authValue)
		if !ok {
			return "", "", CodeUnsupportedAuthScheme
		}
		if tok == "" {
			return "", "", CodeInvalidToken
		}
		return tok, "authorization", ""
	}
	if sc.authorization > 0 || sc.apiKey > 0 {
		return "", "", CodeAmbiguousCredentials
	}
	n := 0
	switch s.kind {
	case sourceHeader:
		for _, h := range f.r.Headers {
			if equalFold(h[0], s.name) {
				n, tok = n+1, trimSpace(h[1])
			}
		}
		header = s.name
	case sourceCookie:
		for _, h := range f.r.Headers {
			if equalFold(h[0], "cookie") {
				for _, c := range strings.Split(h[1], ";") {
					name, value, _ := strings.Cut(trimSpace(c), "=")
					if name == s.name {
						n, tok = n+1, value
					}
				}
			}
		}
	case sourceQuery:
		if _, q, ok := strings.Cut(f.r.Path, "?"); ok {
			for _, kv := range strings.Split(q, "&") {
				name, value, _ := strings.Cut(kv, "=")
				if name == s.name {
					n, tok = n+1, value
				}
			}
		}
	}
	switch {
	case n == 0:
		return "", "", CodeMissingToken
	case n > 1 || strings.IndexByte(tok, ',') >= 0:
		return "", "", CodeDuplicateCredentials
	case tok == "":
		return "", "", CodeInvalidToken
	}
	return tok, header, ""
}
