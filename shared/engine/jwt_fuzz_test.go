package engine_test

import (
	"crypto"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
)

// referenceParser is golang-jwt in strict mode with the idp provider's settings: the second
// opinion the fuzz target compares the engine's verifier with.
func referenceParser(now time.Time) *jwt.Parser {
	return jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "PS256", "ES256", "EdDSA", "HS256"}),
		jwt.WithIssuer(scenario.Issuer), jwt.WithAudience(scenario.Audience, "api://other"), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithLeeway(60*time.Second), jwt.WithStrictDecoding(), jwt.WithTimeFunc(func() time.Time { return now }))
}

func referenceKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	switch kid {
	case "rsa-1":
		return &scenario.RSAKey.PublicKey, nil
	case "ec-1":
		return &scenario.EC256Key.PublicKey, nil
	case "ed-1":
		return scenario.EdKey.Public().(crypto.PublicKey), nil
	case "hs-1":
		return scenario.HMACKey, nil
	}
	return nil, jwt.ErrTokenUnverifiable
}

// FuzzJWTToken sends arbitrary Bearer values to the idp route. The engine must never panic,
// must decide the same way twice (the second time from its cache when it accepted), and
// anything it accepts golang-jwt in strict mode must accept too: the engine is at least as
// strict as the library. Seeds: the table's good tokens here, interesting inputs in
// testdata/fuzz/FuzzJWTToken.
func FuzzJWTToken(f *testing.F) {
	now := scenario.FixedNow
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"} {
		f.Add(scenario.Token(now, alg, "alice", "j-1", `"scope":"a b"`, `"email":"a@b"`))
	}
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	e := compile(f, scenario.Policy)
	ref := referenceParser(now)
	f.Fuzz(func(t *testing.T, tok string) {
		req := func() engine.Decision {
			return e.Decide(&engine.Request{Method: "GET", Authority: scenario.JWTHost, Path: "/x",
				Headers: [][2]string{{"authorization", "Bearer " + tok}}, Now: now})
		}
		d := req()
		if again := req(); again.Allow != d.Allow || again.Code != d.Code {
			t.Fatalf("second decision differs: %v/%s then %v/%s", d.Allow, d.Code, again.Allow, again.Code)
		}
		if !d.Allow {
			return
		}
		if _, err := ref.Parse(tok, referenceKey); err != nil {
			t.Fatalf("the engine accepted a token golang-jwt refuses: %v", err)
		}
		if d.Identity == nil || d.Identity.Method != "jwt" || d.Identity.UserID == "" {
			t.Fatalf("accepted without a token identity: %+v", d.Identity)
		}
	})
}
