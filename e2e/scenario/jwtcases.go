package scenario

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// JWTCase is a JWT scenario. Its tokens are made for a given instant (JWTCases' now);
// FixedClock cases sit on a boundary (exp equal to now, the leeway's edge) and run only where
// the filter's clock is fixed at that instant: the engine (Request.Now), the filter natively
// (the VM context's clock), the test-hook .wasm under the SDK's emulator (a clock pinned from
// the VM configuration), the .wasm under the in-process host and the gateway (a fake clock)
// and on V8 (a frozen clock). The production .wasm under the SDK's emulator cannot be pinned
// (wazero's fake clock there moves on every reading); it runs every other case, with tokens
// made for that clock's start and well inside their hour.
type JWTCase struct {
	Case
	FixedClock bool
}

// Hosts of the JWT routes in Policy.
const (
	JWTHost    = "jwt.example.com"    // provider idp, Bearer, hide_credentials
	EitherHost = "either.example.com" // api_key_or_jwt, provider idp
	CookieHost = "cookie.example.com" // provider strict (cookie "session", EdDSA, no leeway)
	HeaderHost = "header.example.com" // provider single (header x-id-token, ES384, no kid)
)

// MaxTokenBytes is the largest token the filter reads (engine.MaxTokenBytes, which this
// package does not import).
const MaxTokenBytes = 8 << 10

// FixedNow is the instant the FixedClock cases are made for.
var FixedNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var invalidTokenChallenge = [][2]string{{"www-authenticate", `Bearer realm="portcullis", error="invalid_token"`}}

func refused(code string) Want {
	return Want{Status: 401, Code: code, Headers: invalidTokenChallenge, BodyContains: `"code":"` + code + `"`}
}

func asUser(sub string, more ...[2]string) Want {
	return Want{Upstream: append([][2]string{{"x-portcullis-auth", "jwt"}, {"x-portcullis-user-id", sub}}, more...),
		Absent: []string{"x-portcullis-key-id"}}
}

// hidden adds that the route's hide_credentials removed the token.
func hidden(w Want) Want { w.Absent = append(w.Absent, "authorization"); return w }

func bearer(tok string) [2]string { return h("authorization", "Bearer "+tok) }

// JWTCases returns the JWT table for tokens made at now. callback is a URL that jku/x5u header
// parameters point at (a test server that must never be called); "" uses a closed port.
func JWTCases(now time.Time, callback string) []JWTCase {
	if callback == "" {
		callback = "http://127.0.0.1:9/jwks"
	}
	n := now.Unix()
	hdr := func(alg, kid string, more ...string) string {
		s := fmt.Sprintf(`{"alg":%q,"typ":"JWT","kid":%q`, alg, kid)
		for _, m := range more {
			s += "," + m
		}
		return s + "}"
	}
	rsKey, _ := KeyFor("RS256")
	good := Token(now, "RS256", "alice", "j-1", `"scope":"reports:read builds:read"`, `"email":"alice@example.com"`)
	claims := func(extra ...string) string { return Claims(now, "alice", "j-2", extra...) }
	signed := func(claimSet string) string { return Sign("RS256", hdr("RS256", "rsa-1"), claimSet, rsKey) }
	// A token with exactly these registered claims (times relative to now), signed with RS256.
	timed := func(members string) string {
		return signed(fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":%q,"jti":"j-t",%s}`, Issuer, Audience, members))
	}
	// A token of provider strict: iat and exp relative to now, more members appended.
	strict := func(iat, exp int64, typ string, more ...string) string {
		c := fmt.Sprintf(`{"iss":%q,"sub":"carol","aud":%q,"iat":%d,"exp":%d,"perms":["a:read","b:write"]`, Issuer, Audience, n+iat, n+exp)
		for _, m := range more {
			c += "," + m
		}
		return Sign("EdDSA", fmt.Sprintf(`{"alg":"EdDSA","typ":%q}`, typ), c+"}", EdKey)
	}
	cookie := func(tok string) Request { return get(CookieHost, "/", h("cookie", "session="+tok)) }
	single := func(header string, extra ...string) string {
		return Sign("ES384", header, Claims(now, "dave", "j-s", extra...), EC384Key)
	}
	jwt := func(tok string, headers ...[2]string) Request {
		return get(JWTHost, "/x", append([][2]string{bearer(tok)}, headers...)...)
	}
	// sized is a good token of exactly n bytes: a "pad" claim and an unknown header member make
	// up the difference (base64url cannot reach every length with one part alone).
	sized := func(n int) string {
		sigLen := len(good) - strings.LastIndexByte(good, '.') - 1 // an RS256 signature's, fixed
		for pad := max(n-1000, 0) * 3 / 4; ; pad++ {
			for j := range 3 {
				header := hdr("RS256", "rsa-1", `"p":"`+strings.Repeat("h", j)+`"`)
				claimSet := Claims(now, "alice", "j-size", `"pad":"`+strings.Repeat("p", pad)+`"`)
				switch size := len(b64(header)) + 1 + len(b64(claimSet)) + 1 + sigLen; {
				case size == n:
					return Sign("RS256", header, claimSet, rsKey)
				case size > n+8:
					panic(fmt.Sprintf("scenario: no token of %d bytes", n))
				}
			}
		}
	}
	parts := strings.Split(good, ".")
	flipped := parts[0] + "." + parts[1] + "." + flipChar(parts[2], 10)
	es := Token(now, "ES256", "erin", "j-es")

	cases := []JWTCase{
		// What a verified token becomes.
		{Case: Case{"jwt: RS256 token becomes the identity", jwt(good, h("x-portcullis-user-id", "root"), h("x-portcullis-email", "evil@example.com")),
			hidden(asUser("alice", h("x-portcullis-permissions", "reports:read,builds:read"), h("x-portcullis-email", "alice@example.com")))}},
		{Case: Case{"jwt: PS256 accepted", jwt(Token(now, "PS256", "bob", "j-ps")), asUser("bob")}},
		{Case: Case{"jwt: ES256 accepted", jwt(es), asUser("erin")}},
		{Case: Case{"jwt: EdDSA accepted", jwt(Token(now, "EdDSA", "ed", "j-ed")), asUser("ed")}},
		{Case: Case{"jwt: HS256 accepted with its oct key", jwt(Token(now, "HS256", "hal", "j-hs")), asUser("hal")}},
		{Case: Case{"jwt: a client's claim header is removed when the token has none", jwt(Token(now, "RS256", "bob", "j-3"), h("x-portcullis-tenant", "acme")),
			Want{Upstream: [][2]string{{"x-portcullis-user-id", "bob"}}, Absent: []string{"x-portcullis-tenant", "x-portcullis-permissions"}}}},
		{Case: Case{"jwt: the same token twice (cache hit) gives the same identity", jwt(good), asUser("alice", h("x-portcullis-email", "alice@example.com"))}},
		{Case: Case{"jwt: second audience accepted", jwt(signed(strings.Replace(claims(), `"aud":"`+Audience+`"`, `"aud":"api://other"`, 1))), asUser("alice")}},
		{Case: Case{"jwt: aud as an array", jwt(signed(strings.Replace(claims(), `"aud":"`+Audience+`"`, `"aud":["x",`+fmt.Sprintf("%q", Audience)+`]`, 1))), asUser("alice")}},

		// Algorithms and keys.
		{Case: Case{"jwt: alg none", jwt(Sign("none", `{"alg":"none","typ":"JWT"}`, claims(), nil)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: alg None", jwt(Sign("None", `{"alg":"None","typ":"JWT"}`, claims(), nil)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: alg NONE with a kid", jwt(Sign("NONE", hdr("NONE", "rsa-1"), claims(), nil)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: alg nOnE", jwt(Sign("nOnE", `{"alg":"nOnE"}`, claims(), nil)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: alg rs256 in lower case", jwt(strings.Replace(good, parts[0], b64(`{"alg":"rs256","typ":"JWT","kid":"rsa-1"}`), 1)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: HS256 keyed with the RSA public key's PEM", jwt(Sign("HS256", hdr("HS256", "rsa-1"), claims(), RSAPubPEM)), refused("invalid_signature")}},
		{Case: Case{"jwt: HS256 keyed with the PEM, no kid", jwt(Sign("HS256", `{"alg":"HS256"}`, claims(), RSAPubPEM)), refused("invalid_signature")}},
		{Case: Case{"jwt: ES256 claiming the RSA key's kid", jwt(Sign("ES256", hdr("ES256", "rsa-1"), claims(), EC256Key)), refused("invalid_signature")}},
		{Case: Case{"jwt: RS256 claiming the EC key's kid", jwt(Sign("RS256", hdr("RS256", "ec-1"), claims(), RSAKey)), refused("invalid_signature")}},
		{Case: Case{"jwt: ES384 not pinned by the provider", jwt(Sign("ES384", hdr("ES384", "ec-1"), claims(), EC384Key)), refused("invalid_algorithm")}},
		{Case: Case{"jwt: signed by an unpublished key", jwt(Sign("RS256", hdr("RS256", "rsa-1"), claims(), RSAKey2)), refused("invalid_signature")}},
		{Case: Case{"jwt: empty signature", jwt(parts[0] + "." + parts[1] + "."), refused("invalid_signature")}},
		{Case: Case{"jwt: flipped signature", jwt(flipped), refused("invalid_signature")}},
		{Case: Case{"jwt: ES256 with r = s = 0", jwt(replaceSig(es, make([]byte, 64))), refused("invalid_signature")}},
		// ECDSA signatures are malleable: (r, n−s) verifies as (r, s) does. JWS does not ask for
		// low s, and common issuers (Go, OpenSSL) do not normalize, so high s is accepted: the
		// claims are the issuer's and revocation is by jti, not by signature bytes.
		{Case: Case{"jwt: ES256 with high s is the same token", jwt(highS(es)), asUser("erin")}},
		{Case: Case{"jwt: unknown kid", jwt(Sign("RS256", hdr("RS256", "nope"), claims(), RSAKey)), refused("invalid_signature")}},
		{Case: Case{"jwt: kid with path traversal", jwt(Sign("RS256", hdr("RS256", "../../../../etc/passwd"), claims(), RSAKey)), refused("invalid_signature")}},
		{Case: Case{"jwt: kid with SQL", jwt(Sign("RS256", hdr("RS256", "rsa-1' OR '1'='1"), claims(), RSAKey)), refused("invalid_signature")}},
		{Case: Case{"jwt: no kid with several keys", jwt(Sign("RS256", `{"alg":"RS256"}`, claims(), RSAKey)), refused("invalid_signature")}},
		{Case: Case{"jwt: jku is never followed", jwt(Sign("RS256", hdr("RS256", "rsa-1", fmt.Sprintf(`"jku":%q`, callback)), claims(), RSAKey)), refused("invalid_token")}},
		{Case: Case{"jwt: x5u is never followed", jwt(Sign("RS256", hdr("RS256", "rsa-1", fmt.Sprintf(`"x5u":%q`, callback)), claims(), RSAKey)), refused("invalid_token")}},
		{Case: Case{"jwt: embedded jwk is never trusted", jwt(Sign("RS256", `{"alg":"RS256","jwk":`+JWK("", &RSAKey2.PublicKey)+`}`, claims(), RSAKey2)), refused("invalid_token")}},
		{Case: Case{"jwt: x5c is never trusted", jwt(Sign("RS256", hdr("RS256", "rsa-1", `"x5c":["MIIB"]`), claims(), RSAKey)), refused("invalid_token")}},
		{Case: Case{"jwt: unknown crit", jwt(Sign("RS256", hdr("RS256", "rsa-1", `"crit":["exp"]`, `"exp":1`), claims(), RSAKey)), refused("invalid_token")}},
		{Case: Case{"jwt: nested JWT", jwt(Sign("RS256", hdr("RS256", "rsa-1", `"cty":"JWT"`), claims(), RSAKey)), refused("invalid_token")}},

		// Times.
		{Case: Case{"jwt: exp equal to now, no leeway", cookie(strict(-10, 0, "at+jwt")), refused("token_expired")}, FixedClock: true},
		{Case: Case{"jwt: exp one second ahead, no leeway", cookie(strict(-10, 1, "at+jwt")), asUser("carol")}, FixedClock: true},
		{Case: Case{"jwt: exp at the leeway's edge", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":%d`, n-600, n-60))), refused("token_expired")}, FixedClock: true},
		{Case: Case{"jwt: exp inside the leeway", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":%d`, n-600, n-59))), asUser("alice")}, FixedClock: true},
		{Case: Case{"jwt: nbf at the leeway's edge", jwt(timed(fmt.Sprintf(`"iat":%d,"nbf":%d,"exp":%d`, n, n+60, n+600))), asUser("alice")}, FixedClock: true},
		{Case: Case{"jwt: nbf beyond the leeway", jwt(timed(fmt.Sprintf(`"iat":%d,"nbf":%d,"exp":%d`, n, n+61, n+600))), refused("token_not_yet_valid")}, FixedClock: true},
		{Case: Case{"jwt: nbf now, no leeway", cookie(strict(-10, 60, "at+jwt", fmt.Sprintf(`"nbf":%d`, n))), asUser("carol")}, FixedClock: true},
		{Case: Case{"jwt: nbf a second ahead, no leeway", cookie(strict(-10, 60, "at+jwt", fmt.Sprintf(`"nbf":%d`, n+1))), refused("token_not_yet_valid")}, FixedClock: true},
		{Case: Case{"jwt: iat in the future beyond the leeway", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":%d`, n+3600, n+7200))), refused("token_not_yet_valid")}},
		{Case: Case{"jwt: expired an hour ago", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":%d`, n-7200, n-3600))), refused("token_expired")}},
		{Case: Case{"jwt: missing exp", jwt(timed(fmt.Sprintf(`"iat":%d`, n))), refused("invalid_token")}},
		{Case: Case{"jwt: null exp", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":null`, n))), refused("invalid_token")}},
		{Case: Case{"jwt: string exp", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":"%d"`, n, n+600))), refused("invalid_token")}},
		{Case: Case{"jwt: lifetime above the default day", jwt(timed(fmt.Sprintf(`"iat":%d,"exp":%d`, n, n+86401))), refused("invalid_token")}},
		{Case: Case{"jwt: lifetime above the provider's hour", cookie(strict(-10, 3591, "at+jwt")), refused("invalid_token")}},
		{Case: Case{"jwt: lifetime of exactly the hour", cookie(strict(-10, 3590, "at+jwt")), asUser("carol", h("x-portcullis-permissions", "a:read,b:write"))}},
		{Case: Case{"jwt: no iat (lifetime unknown)", jwt(timed(fmt.Sprintf(`"exp":%d`, n+600))), refused("invalid_token")}},

		// Claims.
		{Case: Case{"jwt: wrong issuer", jwt(signed(strings.Replace(claims(), Issuer, "https://evil.example.com", 1))), refused("invalid_issuer")}},
		{Case: Case{"jwt: missing issuer", jwt(signed(strings.Replace(claims(), `"iss":"`+Issuer+`",`, "", 1))), refused("invalid_issuer")}},
		{Case: Case{"jwt: wrong audience", jwt(signed(strings.Replace(claims(), `"aud":"`+Audience+`"`, `"aud":"api://else"`, 1))), refused("invalid_audience")}},
		{Case: Case{"jwt: missing audience", jwt(signed(strings.Replace(claims(), `"aud":"`+Audience+`",`, "", 1))), refused("invalid_audience")}},
		{Case: Case{"jwt: aud as a number", jwt(signed(strings.Replace(claims(), `"aud":"`+Audience+`"`, `"aud":5`, 1))), refused("invalid_token")}},
		{Case: Case{"jwt: missing sub", jwt(signed(strings.Replace(claims(), `"sub":"alice",`, "", 1))), refused("invalid_token")}},
		{Case: Case{"jwt: duplicate claim", jwt(signed(claims(`"sub":"admin"`))), refused("invalid_token")}},
		{Case: Case{"jwt: duplicate header name", jwt(Sign("RS256", `{"alg":"RS256","kid":"rsa-1","kid":"ec-1"}`, claims(), RSAKey)), refused("invalid_token")}},
		{Case: Case{"jwt: missing jti where required", jwt(signed(strings.Replace(claims(), `,"jti":"j-2"`, "", 1))), refused("invalid_token")}},
		{Case: Case{"jwt: revoked jti", jwt(Token(now, "RS256", "alice", RevokedJTI)), refused("token_revoked")}},
		{Case: Case{"jwt: admin claim as a string", get(JWTHost, "/ops", bearer(signed(claims(`"is_admin":"true"`, `"is_staff":true`)))), refused("invalid_token")}},
		{Case: Case{"jwt: claim header with a newline", jwt(signed(claims(`"email":"a@b\r\nx-evil: 1"`))), refused("invalid_token")}},
		{Case: Case{"jwt: typ mismatch", cookie(strict(-10, 60, "JWT")), refused("invalid_token")}},
		{Case: Case{"jwt: typ with application/ prefix", cookie(strict(-10, 60, "application/AT+JWT")), asUser("carol")}},

		// Encodings.
		{Case: Case{"jwt: non-canonical base64 (trailing bits)", jwt(parts[0] + "." + parts[1] + "." + nonCanonical(parts[2])), refused("invalid_token")}},
		{Case: Case{"jwt: base64 padding", jwt(parts[0] + "." + parts[1] + "." + parts[2] + "=="), refused("invalid_token")}},
		{Case: Case{"jwt: standard base64 alphabet", jwt(parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+"), refused("invalid_token")}},
		{Case: Case{"jwt: white space inside", jwt(parts[0] + "." + parts[1][:10] + " " + parts[1][10:] + "." + parts[2]), refused("invalid_token")}},
		{Case: Case{"jwt: a 50 KB token", jwt(parts[0] + "." + strings.Repeat("A", 50<<10) + "." + parts[2]), refused("invalid_token")}},
		{Case: Case{"jwt: exactly 8 KiB", jwt(sized(MaxTokenBytes)), asUser("alice")}},
		{Case: Case{"jwt: 8 KiB and one byte", jwt(sized(MaxTokenBytes + 1)), refused("invalid_token")}},
		{Case: Case{"jwt: only dots", jwt(".."), refused("invalid_token")}},
		{Case: Case{"jwt: four dots", jwt("...."), refused("invalid_token")}},
		{Case: Case{"jwt: header without alg", jwt(Sign("RS256", `{"typ":"JWT","kid":"rsa-1"}`, claims(), rsKey)), refused("invalid_token")}},
		{Case: Case{"jwt: claims that are not an object", jwt(signed(`["alice"]`)), refused("invalid_token")}},
		{Case: Case{"jwt: header that is not JSON", jwt(b64("not json") + "." + parts[1] + "." + parts[2]), refused("invalid_token")}},

		// Credentials.
		{Case: Case{"jwt: missing token", get(JWTHost, "/x"), Want{Status: 401, Code: "missing_token", Headers: bearerRealm}}},
		{Case: Case{"jwt: an API key on a token route", get(JWTHost, "/x", h("x-api-key", KeyFull)), Want{Status: 401, Code: "missing_token"}}},
		{Case: Case{"jwt: token and API key both present", jwt(good, h("x-api-key", KeyFull)), Want{Status: 400, Code: "ambiguous_credentials"}}},
		{Case: Case{"jwt: authorization repeated", get(JWTHost, "/x", bearer(good), bearer(good)), Want{Status: 400, Code: "duplicate_credentials"}}},
		{Case: Case{"jwt: a comma in Authorization (a folded repeat)", get(JWTHost, "/x", h("authorization", "Bearer "+good+", Bearer "+good)), Want{Status: 400, Code: "duplicate_credentials"}}},
		{Case: Case{"jwt: scheme bearer", get(JWTHost, "/x", h("authorization", "bearer "+good)), asUser("alice")}},
		{Case: Case{"jwt: scheme BEARER", get(JWTHost, "/x", h("authorization", "BEARER "+good)), asUser("alice")}},
		{Case: Case{"jwt: scheme Basic", get(JWTHost, "/x", h("authorization", "Basic YWxpY2U6cGFzcw==")), Want{Status: 401, Code: "unsupported_auth_scheme"}}},
		{Case: Case{"jwt: empty bearer", get(JWTHost, "/x", h("authorization", "Bearer ")), refused("invalid_token")}},
		{Case: Case{"either: a token", get(EitherHost, "/x", bearer(good)), Want{Upstream: [][2]string{{"x-portcullis-auth", "jwt"}, {"x-portcullis-user-id", "alice"}}}}},
		{Case: Case{"either: an API key in Authorization", get(EitherHost, "/x", bearer(KeyFull)), Want{Upstream: [][2]string{{"x-portcullis-auth", "api_key"}, {"x-portcullis-key-id", "k-full"}}, Absent: []string{"x-portcullis-user-id"}}}},
		{Case: Case{"either: an API key in X-API-Key", get(EitherHost, "/x", h("x-api-key", KeyFull)), Want{Upstream: [][2]string{{"x-portcullis-key-id", "k-full"}}}}},
		{Case: Case{"either: token and API key both present", get(EitherHost, "/x", bearer(good), h("x-api-key", KeyFull)), Want{Status: 400, Code: "ambiguous_credentials"}}},
		{Case: Case{"either: a forged token is a refused token, not a key", get(EitherHost, "/x", bearer(flipped)), refused("invalid_signature")}},
		{Case: Case{"either: only dots is not a token shape", get(EitherHost, "/x", bearer("..")), Want{Status: 401, Code: "invalid_credentials"}}},
		{Case: Case{"either: nothing", get(EitherHost, "/x"), Want{Status: 401, Code: "missing_credentials"}}},
		{Case: Case{"cookie: token among other cookies", get(CookieHost, "/", h("cookie", "theme=dark; session="+strict(-10, 60, "at+jwt")+"; lang=en")), asUser("carol")}},
		{Case: Case{"cookie: session cookie twice", get(CookieHost, "/", h("cookie", "session="+strict(-10, 60, "at+jwt")), h("cookie", "session=x.y.z")), Want{Status: 400, Code: "duplicate_credentials"}}},
		{Case: Case{"cookie: cookie and Authorization", get(CookieHost, "/", h("cookie", "session="+strict(-10, 60, "at+jwt")), bearer(good)), Want{Status: 400, Code: "ambiguous_credentials"}}},
		{Case: Case{"cookie: no cookie", get(CookieHost, "/"), Want{Status: 401, Code: "missing_token"}}},
		{Case: Case{"header: ES384 token without kid, the provider's only key", get(HeaderHost, "/", h("x-id-token", single(`{"alg":"ES384"}`))), asUser("dave")}},
		{Case: Case{"header: a kid the single key does not have", get(HeaderHost, "/", h("x-id-token", single(`{"alg":"ES384","kid":"k"}`))), refused("invalid_signature")}},
		// Provider single maps no admin or staff claim: it grants neither, whatever the token says.
		{Case: Case{"header guard: no admin claim mapped", get(HeaderHost, "/ops", h("x-id-token", single(`{"alg":"ES384"}`, `"admin":true`, `"staff":true`))),
			Want{Status: 403, Code: "insufficient_scope"}}},
		{Case: Case{"header guard: a claim named \"\" is not the unmapped flag", get(HeaderHost, "/ops", h("x-id-token", single(`{"alg":"ES384"}`, `"":true`))),
			Want{Status: 403, Code: "insufficient_scope"}}},
		{Case: Case{"header: repeated", get(HeaderHost, "/", h("x-id-token", single(`{"alg":"ES384"}`)), h("x-id-token", single(`{"alg":"ES384"}`))), Want{Status: 400, Code: "duplicate_credentials"}}},

		// Guards read the token's identity unchanged.
		{Case: Case{"jwt guard: scope grants the route", get(JWTHost, "/reports", bearer(good)), asUser("alice")}},
		{Case: Case{"jwt guard: missing scope", get(JWTHost, "/reports", bearer(Token(now, "RS256", "bob", "j-4", `"scope":"builds:read"`))),
			Want{Status: 403, Code: "insufficient_scope", Headers: [][2]string{{"www-authenticate", scopeError}}}}},
		{Case: Case{"jwt guard: admin and staff claims", get(JWTHost, "/ops", bearer(signed(claims(`"is_admin":true`, `"is_staff":true`)))), asUser("alice")}},
		{Case: Case{"jwt guard: admin claim false", get(JWTHost, "/ops", bearer(signed(claims(`"is_admin":false`, `"is_staff":true`)))), Want{Status: 403, Code: "insufficient_scope"}}},
	}
	return cases
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// flipChar changes the character at i of a base64url string to another valid one.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// nonCanonical sets the unused low bits of the last character (a 256-byte signature leaves 4).
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

func replaceSig(tok string, sig []byte) string {
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// highS returns the ES256 token with its signature's s in the upper half: n − s when s is low.
func highS(tok string) string {
	sig, _ := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	n := EC256Key.Curve.Params().N
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		s.Sub(n, s)
	}
	out := append([]byte(nil), sig[:32]...)
	out = append(out, s.FillBytes(make([]byte, 32))...)
	return replaceSig(tok, out)
}
