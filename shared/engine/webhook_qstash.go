package engine

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// qstash: Upstash-Signature is a JWT signed HS256 with the current or the next signing key.
// Its claims must say iss "Upstash", sub the destination URL (the verifier's `url`), be
// within exp/nbf (± tolerance_seconds for clock skew), and carry in "body" the base64url
// SHA-256 of the exact body received. Any other algorithm is refused: "none" and public-key
// algorithms never verify here.
var qstashScheme = &scheme{
	sigHeaders: []string{"upstash-signature"},
	verify: func(v *verifier, d *delivery) Code {
		tok := trimSpace(d.sig)
		h64, rest, ok1 := strings.Cut(tok, ".")
		p64, s64, ok2 := strings.Cut(rest, ".")
		if !ok1 || !ok2 {
			return CodeSignatureMalformed
		}
		header, err1 := base64.RawURLEncoding.Strict().DecodeString(h64)
		payload, err2 := base64.RawURLEncoding.Strict().DecodeString(p64)
		mac, err3 := base64.RawURLEncoding.Strict().DecodeString(s64)
		if err1 != nil || err2 != nil || err3 != nil || !jwtHS256(header) {
			return CodeSignatureMalformed
		}
		if !v.macMatches(d, sha256New, [][]byte{mac}, []byte(tok[:len(h64)+1+len(p64)])) {
			return CodeSignatureMismatch
		}
		c, ok := readQStashClaims(payload)
		if !ok || c.iss != "Upstash" || c.exp == 0 {
			return CodeSignatureMalformed
		}
		if c.sub != v.url {
			return CodeSignatureMismatch // signed for another destination
		}
		now := d.now.Unix()
		tol := int64(v.tolerance / time.Second)
		if now > c.exp+tol || (c.nbf != 0 && now < c.nbf-tol) {
			return CodeTimestampOutOfWindow
		}
		d.signedAt = c.exp // a replay is impossible past exp + tolerance anyway
		sum := sha256.Sum256(d.body)
		want := base64.RawURLEncoding.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(strings.TrimRight(c.body, "=")), []byte(want)) != 1 {
			return CodeSignatureMismatch // the body is not the one signed
		}
		return ""
	},
}

// jwtHS256 reports whether a JWT header names HS256 (and nothing makes it ambiguous).
func jwtHS256(header []byte) bool {
	r := strictjson.NewReader(header)
	alg := ""
	for k := range r.Object("") {
		if k == "alg" {
			alg = r.String("", k)
		} else {
			r.Skip()
		}
	}
	return r.Finish() == nil && alg == "HS256"
}

type qstashClaims struct {
	iss, sub, body string
	exp, nbf       int64
}

func readQStashClaims(payload []byte) (qstashClaims, bool) {
	var c qstashClaims
	r := strictjson.NewReader(payload)
	for k := range r.Object("") {
		switch k {
		case "iss":
			c.iss = r.String("", k)
		case "sub":
			c.sub = r.String("", k)
		case "body":
			c.body = r.String("", k)
		case "exp":
			c.exp, _ = r.Int("", k)
		case "nbf":
			c.nbf, _ = r.Int("", k)
		default:
			r.Skip()
		}
	}
	return c, r.Finish() == nil
}
