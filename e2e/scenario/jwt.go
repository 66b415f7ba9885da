package scenario

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The JWT fixtures: the keys of jwtkeys.go decoded once, the key ids the scenario policy
// publishes, and a signer that writes the header and claims exactly as given (so a table can
// send duplicate names, odd types and forbidden header parameters).
var (
	RSAKey    = parsePKCS8(rsaPEM).(*rsa.PrivateKey)
	RSAKey2   = parsePKCS8(rsa2PEM).(*rsa.PrivateKey) // never published: an attacker's key
	EC256Key  = parsePKCS8(ec256PEM).(*ecdsa.PrivateKey)
	EC384Key  = parsePKCS8(ec384PEM).(*ecdsa.PrivateKey)
	EdKey     = ed25519.NewKeyFromSeed(b64d(ed25519Seed))
	HMACKey   = b64d(hmacSecret)
	RSAPubPEM = func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(&RSAKey.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
)

// The scenario policy's providers: "idp" (several keys by kid, Bearer, require_jti, claim
// mapping), "strict" (one EdDSA key without kid, no leeway, typ at+jwt, a cookie, one-hour
// lifetime) and "single" (one ES384 key without kid, a named header).
const (
	Issuer   = "https://idp.example.com"
	Audience = "api://scenario"
)

// JWTProviders is the jwt_providers section of Policy.
var JWTProviders = fmt.Sprintf(`[
    {"name": "idp", "issuer": %q, "audiences": [%q, "api://other"],
     "algorithms": ["RS256", "PS256", "ES256", "EdDSA", "HS256"], "require_jti": true,
     "jwks": {"keys": [%s, %s, %s, %s]},
     "claims": {"admin": "is_admin", "staff": "is_staff",
                "headers": [{"claim": "email", "header": "x-portcullis-email"}, {"claim": "tenant", "header": "x-portcullis-tenant"}]}},
    {"name": "strict", "issuer": %q, "audiences": [%q], "algorithms": ["EdDSA"], "leeway_seconds": 0,
     "max_lifetime_seconds": 3600, "typ": "at+jwt", "from": {"cookie": "session"}, "jwks": {"keys": [%s]},
     "claims": {"permissions": "perms"}},
    {"name": "single", "issuer": %q, "audiences": [%q], "algorithms": ["ES384"], "from": {"header": "x-id-token"},
     "jwks": {"keys": [%s]}}
  ]`, Issuer, Audience,
	JWK("rsa-1", &RSAKey.PublicKey), JWK("ec-1", &EC256Key.PublicKey), JWK("ed-1", EdKey.Public()), JWK("hs-1", HMACKey),
	Issuer, Audience, JWK("", EdKey.Public()),
	Issuer, Audience, JWK("", &EC384Key.PublicKey))

// JWK returns the public JWK of key (an RSA, ECDSA or Ed25519 public key, or an HMAC secret).
func JWK(kid string, key any) string {
	m := map[string]string{}
	enc := base64.RawURLEncoding.EncodeToString
	switch k := key.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", enc(k.N.Bytes()), enc(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		m["kty"], m["crv"] = "EC", k.Curve.Params().Name
		m["x"], m["y"] = enc(k.X.FillBytes(make([]byte, size))), enc(k.Y.FillBytes(make([]byte, size)))
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(k)
	case []byte:
		m["kty"], m["k"] = "oct", enc(k)
	default:
		panic(fmt.Sprintf("scenario: no JWK for %T", key))
	}
	if kid != "" {
		m["kid"] = kid
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Sign returns header.claims.signature with header and claims as given (raw JSON) and the
// signature of alg made with key. An unknown alg and none get an empty signature.
func Sign(alg, header, claims string, key any) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	m := jwt.GetSigningMethod(alg)
	if m == nil || m == jwt.SigningMethodNone {
		return signing + "." // alg none, in any letter case: no signature
	}
	sig, err := m.Sign(signing, key)
	if err != nil {
		panic(fmt.Sprintf("scenario: signing %s: %v", alg, err))
	}
	return signing + "." + enc(sig)
}

// KeyFor returns the fixture key that signs alg for provider idp, and its kid.
func KeyFor(alg string) (any, string) {
	switch alg {
	case "RS256", "PS256":
		return RSAKey, "rsa-1"
	case "ES256":
		return EC256Key, "ec-1"
	case "EdDSA":
		return EdKey, "ed-1"
	case "HS256":
		return HMACKey, "hs-1"
	}
	panic("scenario: no key for " + alg)
}

// Claims builds the claim set of a good idp token at now, with extra members appended (raw
// JSON, so they may repeat a name).
func Claims(now time.Time, sub, jti string, extra ...string) string {
	s := fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":%q,"iat":%d,"exp":%d,"jti":%q`, Issuer, sub, Audience, now.Unix()-60, now.Unix()+3600, jti)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// Token signs a good idp token at now with alg (its key and kid from KeyFor).
func Token(now time.Time, alg, sub, jti string, extra ...string) string {
	key, kid := KeyFor(alg)
	return Sign(alg, fmt.Sprintf(`{"alg":%q,"typ":"JWT","kid":%q}`, alg, kid), Claims(now, sub, jti, extra...), key)
}

func parsePKCS8(p string) crypto.PrivateKey {
	b, _ := pem.Decode([]byte(p))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		panic(err)
	}
	return k
}

func b64d(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
