package engine

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/portcullis/portcullis/shared/policy"
)

// Decide runs the request pipeline: path hygiene, route match, request limits, authentication
// and the key's path guard. Route matching precedes the limits because limits are per route;
// path hygiene precedes matching so that no route is ever matched on an ambiguous path.
func (e *Engine) Decide(r *Request) Decision {
	path, ok := cleanPath(r.Path)
	if !ok {
		return e.deny(CodeInvalidPath, "path", nil)
	}
	rt := e.match(hostOf(r.Authority), r.Method, path)
	limits := &e.defaultLimits
	if rt != nil {
		limits = &rt.limits
	}
	s := scanHeaders(r.Headers)
	if d, denied := e.checkLimits(&s, limits, rt); denied {
		return d
	}
	if rt == nil {
		if !e.defaultAllow {
			return e.deny(CodeNoRoute, "route", nil)
		}
		return e.allow(r, &s, nil, nil, "", limits.MaxBodyBytes)
	}
	if rt.auth == policy.AuthNone {
		return e.allow(r, &s, rt, nil, "", limits.MaxBodyBytes)
	}
	k, credHeader, code := e.authenticate(&s, r)
	if code != "" {
		return e.deny(code, "auth", rt)
	}
	if len(k.allowed) > 0 && !anyPrefix(path, k.allowed) {
		d := e.deny(CodePathNotAllowed, "key_paths", rt)
		d.KeyID = k.id
		return d
	}
	hide := ""
	if rt.hide {
		hide = credHeader
	}
	return e.allow(r, &s, rt, k, hide, limits.MaxBodyBytes)
}

func (e *Engine) checkLimits(s *headerScan, l *policy.Limits, rt *route) (Decision, bool) {
	switch {
	case s.count > l.MaxHeaderCount:
		return e.deny(CodeTooManyHeaders, "limits", rt), true
	case s.bytes > l.MaxHeaderBytes:
		return e.deny(CodeHeadersTooLarge, "limits", rt), true
	case s.longestValue > l.MaxHeaderValueBytes:
		return e.deny(CodeHeaderValueTooLarge, "limits", rt), true
	case s.badContentLength:
		return e.deny(CodeInvalidContentLength, "limits", rt), true
	case s.contentLength > l.MaxBodyBytes:
		return e.deny(CodeBodyTooLarge, "limits", rt), true
	}
	return Decision{}, false
}

// authenticate finds the key presented in Authorization: Bearer or X-API-Key. It returns the
// header that carried it, or a denial code. Unknown, inactive and expired keys share one code
// and one response, so a caller cannot tell which keys exist.
func (e *Engine) authenticate(s *headerScan, r *Request) (*key, string, Code) {
	switch {
	case s.authorization > 1 || s.apiKey > 1:
		return nil, "", CodeDuplicateCredentials
	case s.authorization == 1 && s.apiKey == 1:
		return nil, "", CodeAmbiguousCredentials
	case s.authorization == 0 && s.apiKey == 0:
		return nil, "", CodeMissingCredentials
	}
	// Envoy folds a repeated inline header such as Authorization into one value joined by
	// commas. Keys and bearer tokens never contain a comma, so a comma means "repeated".
	if strings.IndexByte(s.authValue, ',') >= 0 || strings.IndexByte(s.apiKeyValue, ',') >= 0 {
		return nil, "", CodeDuplicateCredentials
	}
	header, secret := "x-api-key", trimSpace(s.apiKeyValue)
	if s.authorization == 1 {
		header = "authorization"
		var ok bool
		if secret, ok = bearerToken(s.authValue); !ok {
			return nil, "", CodeUnsupportedAuthScheme
		}
	}
	if secret == "" {
		return nil, "", CodeInvalidCredentials
	}
	sum := sha256.Sum256([]byte(secret))
	k := e.keys[sum]
	// The map is keyed by the hash, so a hit already means equal hashes; the constant-time
	// compare keeps the check explicit and independent of how the map compares keys.
	if k == nil || subtle.ConstantTimeCompare(k.hash[:], sum[:]) != 1 {
		return nil, "", CodeInvalidCredentials
	}
	if !k.active || (!k.expires.IsZero() && !r.Now.Before(k.expires)) {
		return nil, "", CodeInvalidCredentials
	}
	return k, header, ""
}

// bearerToken parses "Bearer <token>" with a case-insensitive scheme. ok is false for another
// scheme; an empty token is returned as "" with ok true.
func bearerToken(v string) (string, bool) {
	v = trimSpace(v)
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false // "Bearerx"
	}
	return trimSpace(rest), true
}

func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func anyPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if hasPathPrefix(path, p) {
			return true
		}
	}
	return false
}

func (e *Engine) allow(r *Request, s *headerScan, rt *route, k *key, hide string, maxBody int64) Decision {
	d := Decision{Allow: true, MaxBodyBytes: maxBody, Check: "allow"}
	if rt != nil {
		d.Route = rt.name
	}
	if s.reserved {
		d.Remove = reservedNames(r.Headers)
	}
	if hide != "" {
		d.Remove = append(d.Remove, hide)
	}
	if k != nil {
		d.KeyID = k.id
		d.Set = k.upstream
	}
	return d
}
