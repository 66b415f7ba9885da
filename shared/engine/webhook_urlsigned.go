package engine

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// URL-signing presets: the provider signs the URL it delivered to, which the verifier names in
// `url` (what the provider was configured with, not what Envoy saw: behind a TLS-terminating
// proxy the two differ in scheme, host or port).

// square: x-square-hmacsha256-signature, base64 HMAC-SHA256 over the notification URL + body.
var squareScheme = &scheme{
	sigHeaders: []string{"x-square-hmacsha256-signature"},
	verify: func(v *verifier, d *delivery) Code {
		mac, err := base64.StdEncoding.Strict().DecodeString(trimSpace(d.sig))
		if err != nil || len(mac) != sha256.Size {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, []byte(v.url), d.body))
	},
}

// twilio: X-Twilio-Signature, base64 HMAC-SHA1 (keyed with the auth token) over the URL, then
// each form parameter of the body as key + value, sorted by key (and by value for a repeated
// key). The URL is the verifier's `url`, with the request's own query string when `url` has
// none. A JSON body is not signed itself: Twilio puts its hex SHA-256 in the URL's bodySHA256
// parameter and signs the URL alone.
var twilioScheme = &scheme{
	sigHeaders: []string{"x-twilio-signature"},
	verify: func(v *verifier, d *delivery) Code {
		mac, err := base64.StdEncoding.Strict().DecodeString(trimSpace(d.sig))
		if err != nil || len(mac) != sha1.Size {
			return CodeSignatureMalformed
		}
		signedURL := v.url
		if !strings.Contains(signedURL, "?") {
			if i := strings.IndexByte(d.path, '?'); i >= 0 {
				signedURL += d.path[i:]
			}
		}
		parts := [][]byte{[]byte(signedURL)}
		_, rawQuery, _ := strings.Cut(signedURL, "?")
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			return CodeSignatureMalformed
		}
		if want, ok := query["bodySHA256"]; ok {
			sum := sha256.Sum256(d.body)
			got := hex.EncodeToString(sum[:])
			if len(want) != 1 || subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(want[0]))) != 1 {
				return CodeSignatureMismatch
			}
		} else {
			form, err := url.ParseQuery(string(d.body))
			if err != nil {
				return CodeSignatureMalformed
			}
			for _, k := range slices.Sorted(maps.Keys(form)) {
				vals := slices.Clone(form[k])
				slices.Sort(vals)
				for _, val := range vals {
					parts = append(parts, []byte(k), []byte(val))
				}
			}
		}
		return matchOrMismatch(v.macMatches(d, sha1.New, [][]byte{mac}, parts...))
	},
}
