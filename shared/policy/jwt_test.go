package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Keys for the validation table (public halves of test fixtures; they protect nothing).
const (
	testOct = `{"kty":"oct","kid":"hs-1","k":"UV908kc-cHzYQQQsmHrhhY3njvz_tweDK9LVvAOtsJQ"}`
)

func TestJWTPolicyErrors(t *testing.T) {
	provider := func(fields string) string {
		return `{"version":1,"jwt_providers":[{"name":"idp","issuer":"https://i","audiences":["a"],"algorithms":["HS256"],` +
			`"jwks":{"keys":[` + testOct + `]}` + fields + `}]}`
	}
	withRoute := func(route, fields string) string {
		return strings.Replace(provider(fields), `{"version":1,`, `{"version":1,"routes":[`+route+`],`, 1)
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"private key material", `{"version":1,"jwt_providers":[{"name":"p","issuer":"i","audiences":["a"],"algorithms":["RS256"],"jwks":{"keys":[{"kty":"RSA","n":"x","e":"AQAB","d":"secret"}]}}]}`,
			[]string{"jwt_providers[0].jwks.keys[0].d: is private key material", "jwt_providers[0].jwks.keys[0]: n: must be base64url"}},
		{"short HMAC secret", strings.Replace(provider(""), "UV908kc-cHzYQQQsmHrhhY3njvz_tweDK9LVvAOtsJQ", "c2hvcnQ", 1),
			[]string{"jwt_providers[0].jwks.keys[0]: k: an HMAC secret must be at least 32 bytes"}},
		{"wildcard audience", strings.Replace(provider(""), `"audiences":["a"]`, `"audiences":["*"]`, 1),
			[]string{"jwt_providers[0].audiences[0]: must be an exact audience"}},
		{"no audience", strings.Replace(provider(""), `"audiences":["a"],`, ``, 1), []string{"jwt_providers[0].audiences: required"}},
		{"algorithm none", strings.Replace(provider(""), `["HS256"]`, `["HS256","none"]`, 1), []string{"jwt_providers[0].algorithms[1]: must be one of"}},
		{"algorithm in lower case", strings.Replace(provider(""), `["HS256"]`, `["hs256"]`, 1),
			[]string{"jwt_providers[0].algorithms[0]: must be one of", "jwt_providers[0].jwks.keys[0]: fits none of the provider's algorithms"}},
		{"key fits no algorithm", strings.Replace(provider(""), `["HS256"]`, `["RS256"]`, 1), []string{"jwt_providers[0].jwks.keys[0]: fits none"}},
		{"no keys at all", strings.Replace(provider(""), `,"jwks":{"keys":[`+testOct+`]}`, ``, 1), []string{"jwt_providers[0].jwks: required"}},
		{"jwks_uri over plain http", provider(`,"jwks_uri":"http://idp.example.com/jwks"`), []string{"jwt_providers[0].jwks_uri: must use https"}},
		{"duplicate kid", strings.Replace(provider(""), testOct, testOct+","+testOct, 1), []string{"jwt_providers[0].jwks.keys[1].kid: duplicates keys[0].kid"}},
		{"kid needed with several keys", strings.Replace(provider(""), testOct, testOct+","+strings.Replace(testOct, `"kid":"hs-1",`, ``, 1), 1),
			[]string{"jwt_providers[0].jwks.keys[1].kid: required when the set has more than one key"}},
		{"padded base64", strings.Replace(provider(""), "tsJQ", "tsJQ=", 1), []string{"jwt_providers[0].jwks.keys[0]: k: must be base64url without padding"}},
		{"short RSA key", strings.Replace(provider(""), `["HS256"]`, `["RS256"]`, 1)[0:0] + `{"version":1,"jwt_providers":[{"name":"p","issuer":"i","audiences":["a"],"algorithms":["RS256"],"jwks":{"keys":[{"kty":"RSA","n":"` + strings.Repeat("A", 170) + `","e":"AQAB"}]}}]}`,
			[]string{"jwt_providers[0].jwks.keys[0]: n: an RSA modulus must be at least 2048 bits"}},
		{"EC point off the curve", `{"version":1,"jwt_providers":[{"name":"p","issuer":"i","audiences":["a"],"algorithms":["ES256"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("B", 42) + `A"}]}}]}`,
			[]string{"jwt_providers[0].jwks.keys[0]: x, y: not a point on the curve"}},
		{"leeway too large", provider(`,"leeway_seconds":3600`), []string{"jwt_providers[0].leeway_seconds: must be between 0 and 300"}},
		{"two sources", provider(`,"from":{"header":"x-t","cookie":"c"}`), []string{"jwt_providers[0].from: must name exactly one of"}},
		{"x-api-key as the source", provider(`,"from":{"header":"X-API-Key"}`), []string{"jwt_providers[0].from.header: must be a header name other than"}},
		{"claim header outside x-portcullis-", provider(`,"claims":{"headers":[{"claim":"email","header":"x-email"}]}`),
			[]string{"jwt_providers[0].claims.headers[0].header: must be a header name starting with x-portcullis-"}},
		{"claim header over an identity header", provider(`,"claims":{"headers":[{"claim":"email","header":"x-portcullis-user-id"}]}`),
			[]string{"jwt_providers[0].claims.headers[0].header: x-portcullis-user-id is set by the identity itself"}},
		{"registered claim mapped", provider(`,"claims":{"permissions":"sub"}`), []string{"jwt_providers[0].claims.permissions: must be a claim name"}},
		{"route names no provider", withRoute(`{"name":"r","auth":{"type":"jwt"}}`, ""), []string{`routes[0].auth.provider: must name one of jwt_providers, not ""`}},
		{"route names an unknown provider", withRoute(`{"name":"r","auth":{"type":"jwt","provider":"nope"}}`, ""), []string{`routes[0].auth.provider: must name one of jwt_providers, not "nope"`}},
		{"provider on an api_key route", withRoute(`{"name":"r","auth":{"type":"api_key","provider":"idp"}}`, ""), []string{"routes[0].auth.provider: only for auth types jwt and api_key_or_jwt"}},
		{"api_key_or_jwt with a cookie provider", withRoute(`{"name":"r","auth":{"type":"api_key_or_jwt","provider":"idp"}}`, `,"from":{"cookie":"s"}`),
			[]string{"routes[0].auth.provider: api_key_or_jwt needs a provider reading Authorization: Bearer"}},
		{"hide_credentials with a cookie", withRoute(`{"name":"r","auth":{"type":"jwt","provider":"idp"},"hide_credentials":true}`, `,"from":{"cookie":"s"}`),
			[]string{"routes[0].hide_credentials: supported for tokens in a header only"}},
		{"revocation without expiry", `{"version":1,"revoked_tokens":[{"jti":"a"}]}`, []string{"revoked_tokens[0].expires_at: required"}},
		{"duplicate revocation", `{"version":1,"revoked_tokens":[{"jti":"a","expires_at":"2030-01-01T00:00:00Z"},{"jti":"a","expires_at":"2030-01-01T00:00:00Z"}]}`,
			[]string{"revoked_tokens[1].jti: duplicates revoked_tokens[0].jti"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var got []string
			var fe *strictjson.Errors
			switch {
			case err == nil:
				t.Fatal("accepted")
			case errors.As(err, &fe):
				for _, e := range fe.List {
					got = append(got, e.Error())
				}
			default:
				got = []string{err.Error()}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestJWTPolicyDefaults(t *testing.T) {
	doc, err := Parse([]byte(`{"version":1,"jwt_providers":[{"name":"idp","issuer":"https://i","audiences":["a"],"algorithms":["HS256"],"jwks":{"keys":[` + testOct + `]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := doc.JWTProviders[0]
	if p.LeewaySeconds != 60 || p.MaxLifetimeSeconds != 86400 || p.RequireJTI || !p.From.IsBearer() || p.PermissionsClaim() != "scope" {
		t.Fatalf("defaults: %+v", p)
	}
}
