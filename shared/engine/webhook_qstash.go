package engine

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"
)

// qstash: Upstash-Signature is a JWT signed HS256 with the current or the next signing key.
// It is read by the same rules as every JWT here (readJWS: strict base64, a strict header
// without crit or key references, HS256 pinned so "none" and public-key algorithms never
// verify, the claims decoded strictly with their types). Its claims must say iss "Upstash",
// sub the destination URL (the verifier's `url`), be within exp/nbf (± tolerance_seconds for
// clock skew), and carry in "body" the base64url SHA-256 of the exact body received.
var qstashScheme = &scheme{
	sigHeaders: []string{"upstash-signature"},
	verify: func(v *verifier, d *delivery) Code {
		t, code := readJWS(trimSpace(d.sig), qstashAlgorithms)
		if code != "" {
			return CodeSignatureMalformed
		}
		if !v.macMatches(d, sha256New, [][]byte{t.sig}, []byte(t.signing)) {
			return CodeSignatureMismatch
		}
		c := tokenClaims{m: &qstashClaims}
		if t.readClaims(&c) != "" || c.iss != "Upstash" || !c.exp.set {
			return CodeSignatureMalformed
		}
		if c.sub != v.url {
			return CodeSignatureMismatch // signed for another destination
		}
		now, exp := d.now.Unix(), c.exp.Unix()
		tol := int64(v.tolerance / time.Second)
		if now > exp+tol || (c.nbf.set && now < c.nbf.Unix()-tol) {
			return CodeTimestampOutOfWindow
		}
		d.signedAt = exp // a replay is impossible past exp + tolerance anyway
		sum := sha256.Sum256(d.body)
		want := base64.RawURLEncoding.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(strings.TrimRight(c.extra, "=")), []byte(want)) != 1 {
			return CodeSignatureMismatch // the body is not the one signed
		}
		return ""
	},
}

var (
	qstashAlgorithms = []string{"HS256"}
	// qstashClaims reads "body" beside the registered claims; nothing becomes an identity.
	qstashClaims = claimMap{extra: "body"}
)
