package cli

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// --jwt-file sends the token as a Bearer credential: a signed token passes a jwt route, a
// forged one is refused.
func TestEvaluateJWT(t *testing.T) {
	h := newHarness(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	h.steps([]step{{name: "apply", args: []string{"policy", "apply", "-f", h.file("p.yaml", `version: 1
jwt_providers:
  - name: idp
    issuer: https://idp.example
    audiences: [api]
    algorithms: [HS256]
    jwks: {keys: [{kty: oct, k: "`+base64.RawURLEncoding.EncodeToString(secret)+`"}]}
routes:
  - name: api
    match: {path_prefix: /api}
    auth: {type: jwt, provider: idp}
`)}, errOut: []string{"applied"}}})
	h.waitPublished()
	sign := func(key []byte) string {
		now := time.Now()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.example", "aud": "api", "sub": "u1",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	h.steps([]step{
		{name: "signed", args: []string{"evaluate", "--path", "/api/x", "--jwt-file", h.file("good.jwt", sign(secret))}, out: []string{"ALLOW", "upstream header: x-portcullis-user-id: u1"}},
		{name: "forged", stdin: sign([]byte("another secret, another secret!!")), args: []string{"evaluate", "--path", "/api/x", "--jwt-file", "-"}, code: ExitFindings, out: []string{"DENY 401"}},
	})
}
