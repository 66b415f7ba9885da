package engine

import (
	"crypto/sha256"
	"strings"
	"time"
)

// key is a compiled API key.
type key struct {
	hash     [32]byte
	active   bool
	expires  time.Time
	allowed  []string // path prefixes; empty means every path
	identity Identity
}

// apiKeyCheck authenticates with the key presented in Authorization: Bearer or X-API-Key.
type apiKeyCheck struct{}

func (apiKeyCheck) onHeaders(f *flow) Code {
	k, header, code := f.e.authenticate(&f.scan, f.r)
	if code != "" {
		return code
	}
	f.identity, f.credHeader = &k.identity, header
	if len(k.allowed) > 0 && !anyPrefix(f.path, k.allowed) {
		return CodePathNotAllowed
	}
	return ""
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
	k := e.presented.find(e, secret)
	if k == nil {
		return nil, "", CodeInvalidCredentials
	}
	if !k.active || (!k.expires.IsZero() && !r.Now.Before(k.expires)) {
		return nil, "", CodeInvalidCredentials
	}
	return k, header, ""
}

// keyByHash finds the compiled key whose SHA-256 is that of secret, or nil.
func (e *Engine) keyByHash(secret string) *key {
	sum := sha256.Sum256([]byte(secret))
	return e.findKey(&sum) // compares the hashes in constant time
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
