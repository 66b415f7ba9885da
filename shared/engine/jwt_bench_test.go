package engine

import (
	"crypto"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/policy"
)

// BenchmarkJWT measures, per algorithm and in the same process (natively, or compiled to
// wasip1 under wazero by make bench-wasm): a cache miss (the whole verification: header,
// signature, claims, identity), a cache hit, a bare strict golang-jwt Parse of the same token
// (the library baseline of the target), and Decide on a cache hit next to Decide on
// the API-key allow path.
func BenchmarkJWT(b *testing.B) {
	doc, err := policy.Parse([]byte(scenario.Policy))
	if err != nil {
		b.Fatal(err)
	}
	e, err := Compile(doc)
	if err != nil {
		b.Fatal(err)
	}
	p := e.providers["idp"]
	now := scenario.FixedNow
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		tok := scenario.Token(now, alg, "alice", "j-bench", `"scope":"reports:read builds:read"`, `"email":"alice@example.com"`)
		key, _ := scenario.KeyFor(alg)
		var pub any = key
		if s, ok := key.(crypto.Signer); ok {
			pub = s.Public()
		}
		parser := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(scenario.Issuer), jwt.WithAudience(scenario.Audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithStrictDecoding(), jwt.WithTimeFunc(func() time.Time { return now }))
		b.Run(alg+"/miss", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, code := p.verify(tok, now); code != "" {
					b.Fatal(code)
				}
			}
		})
		b.Run(alg+"/hit", func(b *testing.B) {
			e.verifyToken(p, tok, now)
			b.ReportAllocs()
			for b.Loop() {
				if _, code := e.verifyToken(p, tok, now); code != "" {
					b.Fatal(code)
				}
			}
		})
		b.Run(alg+"/golang-jwt-parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	tok := scenario.Token(now, "ES256", "alice", "j-bench")
	for _, tc := range []struct {
		name    string
		host    string
		headers [][2]string
	}{
		{"decide/api-key-allow", "api.example.com", [][2]string{{"x-api-key", scenario.KeyFull}}},
		{"decide/jwt-hit", scenario.JWTHost, [][2]string{{"authorization", "Bearer " + tok}}},
	} {
		req := &Request{Method: "GET", Authority: tc.host, Path: "/v1/builds/42", Headers: append([][2]string{{"user-agent", "bench"}, {"accept", "*/*"}}, tc.headers...), Now: now}
		b.Run(tc.name, func(b *testing.B) {
			if d := e.Decide(req); !d.Allow {
				b.Fatalf("%d %s", d.Status, d.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(req)
			}
		})
	}
}
