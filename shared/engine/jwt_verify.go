package engine

import (
	"encoding/base64"
	"strings"
	"time"
)

// MaxTokenBytes caps a token before any parsing: a larger one is refused unread.
const MaxTokenBytes = 8 << 10

// verified is the outcome of one successful verification, as the cache keeps it.
type verified struct {
	id *Identity
	// validUntil is exp + leeway: the first instant the token is refused as expired.
	validUntil time.Time
	jti        string
}

// isJWS reports whether s has the shape of a compact JWS: three non-empty base64url parts.
// api_key_or_jwt routes send such a Bearer value to the JWT check and anything else to the
// API key check (API keys never contain a dot).
func isJWS(s string) bool {
	if len(s) > MaxTokenBytes {
		return strings.Count(s, ".") == 2
	}
	dots, last := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if i == last+1 {
				return false
			}
			dots, last = dots+1, i
		case !isB64URL(c):
			return false
		}
	}
	return dots == 2 && last < len(s)-1
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// verify checks one token against the provider at now. It never fetches anything and never
// reads a key from the token. Each refusal is a code from the denial table; none echoes the
// token.
func (p *jwtProvider) verify(tok string, now time.Time) (verified, Code) {
	var v verified
	t, code := readJWS(tok, p.algorithms)
	if code != "" {
		return v, code
	}
	if p.typ != "" && normalizeTyp(t.hdr.typ) != p.typ {
		return v, CodeInvalidToken
	}
	key := p.single
	if t.hdr.hasKid {
		key = p.byKid[t.hdr.kid]
	}
	if key == nil || !key.jwk.Fits(t.hdr.alg) {
		return v, CodeInvalidSignature // unknown kid, or a key of another type or algorithm
	}
	if !verifySignature(t.hdr.alg, key.pub, t.signing, t.sig) {
		return v, CodeInvalidSignature
	}
	claims := tokenClaims{m: &p.claims}
	if code := t.readClaims(&claims); code != "" {
		return v, code
	}
	if code := p.checkClaims(&claims, now); code != "" {
		return v, code
	}
	id := &Identity{Method: "jwt", UserID: claims.sub, Permissions: claims.perms, Admin: claims.admin, Staff: claims.staff}
	id.buildUpstream()
	id.upstream = append(id.upstream, claims.headers...)
	return verified{id: id, validUntil: claims.exp.Add(p.leeway), jti: claims.jti}, ""
}

// compactJWS is a token that passed the rules every JWT read here obeys, whatever reads it (a
// provider, the qstash webhook preset), before its signature is checked.
type compactJWS struct {
	hdr     tokenHeader
	signing string // header.payload: what the signature covers
	payload string // still base64url: decoded only once the signature holds
	sig     []byte
}

// readJWS applies those rules: at most MaxTokenBytes; three parts of the base64url alphabet,
// decoded strictly (no padding, no white space, no non-zero trailing bits); a header read by
// readHeader (no duplicate names, crit, key reference or embedded key); one of algorithms
// ("none" in any letter case never is); not a nested JWT.
func readJWS(tok string, algorithms []string) (compactJWS, Code) {
	var t compactJWS
	// Shape first, byte by byte: base64's decoder skips CR and LF, so white space inside a
	// part would otherwise decode; padding and non-canonical encodings are caught here and by
	// strict decoding.
	if len(tok) > MaxTokenBytes {
		return t, CodeInvalidToken
	}
	dots := 0
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c == '.' {
			dots++
		} else if !isB64URL(c) {
			return t, CodeInvalidToken
		}
	}
	if dots != 2 {
		return t, CodeInvalidToken
	}
	i1, i2 := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	hdr, err := readHeader(tok[:i1])
	if err != nil {
		return t, CodeInvalidToken
	}
	if !containsString(algorithms, hdr.alg) {
		return t, CodeInvalidAlgorithm // "none" in any case, and anything not pinned
	}
	if c := normalizeTyp(hdr.cty); c == "jwt" {
		return t, CodeInvalidToken // a nested token: we verify one signature, not two
	}
	sig, err := strictB64.DecodeString(tok[i2+1:])
	if err != nil {
		return t, CodeInvalidToken
	}
	t.hdr, t.signing, t.payload, t.sig = hdr, tok[:i2], tok[i1+1:i2], sig
	return t, ""
}

// readClaims decodes the claim set into c strictly (tokenClaims.read, with the claims c.m
// maps). Call it once the signature holds: nothing the signer did not write is parsed
// further. c is the caller's, so that it can stay on the stack.
func (t *compactJWS) readClaims(c *tokenClaims) Code {
	payload, err := strictB64.DecodeString(t.payload)
	if err != nil || c.read(payload) != nil {
		return CodeInvalidToken
	}
	return ""
}

// strictB64 is base64url without padding, refusing non-zero trailing bits.
var strictB64 = base64.RawURLEncoding.Strict()

// checkClaims validates the registered claims: the issuer and an audience first (they say
// more than the times), then exp (required), nbf and iat against now with the leeway on each
// side, then sub, jti and the lifetime.
func (p *jwtProvider) checkClaims(c *tokenClaims, now time.Time) Code {
	if c.iss != p.issuer {
		return CodeInvalidIssuer
	}
	audOK := false
	for _, a := range c.aud {
		audOK = audOK || containsString(p.audiences, a)
	}
	switch {
	case !audOK:
		return CodeInvalidAudience
	case !c.exp.set:
		return CodeInvalidToken
	case !now.Before(c.exp.Add(p.leeway)):
		return CodeTokenExpired // exp equal to now is expired (RFC 7519 §4.1.4: "on or after")
	case c.nbf.set && now.Before(c.nbf.Add(-p.leeway)):
		return CodeTokenNotYetValid
	case c.iat.set && now.Before(c.iat.Add(-p.leeway)):
		return CodeTokenNotYetValid // issued in the future
	case c.sub == "":
		return CodeInvalidToken
	case p.requireJTI && c.jti == "":
		return CodeInvalidToken
	case !c.iat.set || c.exp.Sub(c.iat.Time) > p.maxLifetime:
		return CodeInvalidToken // lifetime unknown or above the maximum
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
