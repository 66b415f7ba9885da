package policy

import (
	"time"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Bounds on the JWT sections, so a snapshot stays small enough for every worker VM.
const (
	MaxJWTProviders = 100
	// MaxRevokedTokens is how many revocations one snapshot carries. The control server refuses
	// a revocation beyond it (expired ones are pruned first); a document with more is invalid.
	MaxRevokedTokens = 10_000
	maxJWKSKeys      = 100
	maxClaimHeaders  = 32
)

// Provider defaults.
const (
	DefaultLeewaySeconds      = 60
	DefaultMaxLifetimeSeconds = 86_400
	maxLeewaySeconds          = 300
	maxLifetimeBound          = 366 * 86_400
)

// JWTProvider is one token issuer: which tokens it signs, with which keys and algorithms, and
// how a verified token becomes the request's identity.
type JWTProvider struct {
	Name   string `json:"name"`
	Issuer string `json:"issuer"`
	// Audiences: a token must name at least one of them in aud. "*" is refused.
	Audiences []string `json:"audiences"`
	// Algorithms pins what the provider accepts (HS256 … EdDSA); anything else is refused.
	Algorithms []string `json:"algorithms"`
	// JWKS is the provider's public keys (HS secrets as kty oct). For a provider with JWKSURI,
	// the control server fills it with the keys it last fetched; the filter never fetches.
	JWKS    *JWKS  `json:"jwks,omitempty"`
	JWKSURI string `json:"jwks_uri,omitempty"`
	// LeewaySeconds is the clock skew allowed on exp, nbf and iat.
	LeewaySeconds int `json:"leeway_seconds"`
	// MaxLifetimeSeconds bounds exp − iat; a token without iat is refused.
	MaxLifetimeSeconds int64 `json:"max_lifetime_seconds"`
	// RequireJTI refuses tokens without a jti (which revocation needs).
	RequireJTI bool `json:"require_jti,omitempty"`
	// Typ, when set, must equal the token header's typ (case-insensitively, "application/"
	// optional), e.g. "at+jwt".
	Typ string `json:"typ,omitempty"`
	// From is where the token is read; nil means Authorization: Bearer.
	From *TokenSource `json:"from,omitempty"`
	// Claims maps claims onto the identity; nil means the defaults (permissions from scope).
	Claims *ClaimMapping `json:"claims,omitempty"`
}

// JWKS is a JSON Web Key Set (RFC 7517) holding public keys only.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public key: RSA (n, e), EC (crv P-256/P-384, x, y), OKP (crv Ed25519, x), or an
// HMAC secret (oct, k) of at least 32 bytes. Base64url values without padding.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	// Alg, when set, is the only algorithm the key is used with.
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	K   string `json:"k,omitempty"`
}

// TokenSource says where a token is read: exactly one of a header, a cookie or a query
// parameter. Header "authorization" means the Bearer scheme; any other header carries the bare
// token. A query parameter is unsafe (URLs end up in logs and browser history) and only for
// clients that can do nothing else.
type TokenSource struct {
	Header string `json:"header,omitempty"`
	Cookie string `json:"cookie,omitempty"`
	Query  string `json:"query,omitempty"`
}

// ClaimMapping turns claims into the identity. The subject (sub) is always the user id.
type ClaimMapping struct {
	// Permissions names an array-of-strings claim or a space-separated string claim; default
	// "scope".
	Permissions string `json:"permissions,omitempty"`
	// Admin and Staff name boolean claims that set the identity's flags.
	Admin string `json:"admin,omitempty"`
	Staff string `json:"staff,omitempty"`
	// Headers forward claims to the upstream, each as an x-portcullis-* header.
	Headers []ClaimHeader `json:"headers,omitempty"`
}

// ClaimHeader forwards one claim (a string, number or boolean) as an upstream header.
type ClaimHeader struct {
	Claim  string `json:"claim"`
	Header string `json:"header"`
}

// Revocation refuses the token with this jti until ExpiresAt (set it at or after the token's
// exp; the control server prunes a revocation once it is past).
type Revocation struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PermissionsClaim returns the claim permissions come from.
func (p *JWTProvider) PermissionsClaim() string {
	if p.Claims != nil && p.Claims.Permissions != "" {
		return p.Claims.Permissions
	}
	return "scope"
}

// ParseJWKS reads a key set in the policy's form (public keys only, strict), as the control
// server stores what it fetched from a jwks_uri.
func ParseJWKS(data []byte) (*JWKS, error) {
	r := strictjson.NewReader(data)
	s := readJWKS(r, "")
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return s, nil
}

func readJWTProvider(r *strictjson.Reader, path string, p *JWTProvider) {
	p.LeewaySeconds = DefaultLeewaySeconds
	p.MaxLifetimeSeconds = DefaultMaxLifetimeSeconds
	for k := range r.Object(path) {
		switch k {
		case "name":
			p.Name = r.String(path, k)
		case "issuer":
			p.Issuer = r.String(path, k)
		case "audiences":
			p.Audiences = r.Strings(path, k)
		case "algorithms":
			p.Algorithms = r.Strings(path, k)
		case "jwks":
			p.JWKS = readJWKS(r, strictjson.Join(path, k))
		case "jwks_uri":
			p.JWKSURI = r.String(path, k)
		case "leeway_seconds":
			p.LeewaySeconds = int(r.NonNegativeInt(path, k, maxLeewaySeconds))
		case "max_lifetime_seconds":
			p.MaxLifetimeSeconds = r.PositiveInt(path, k, maxLifetimeBound)
		case "require_jti":
			p.RequireJTI = r.Bool(path, k)
		case "typ":
			p.Typ = r.String(path, k)
		case "from":
			p.From = readTokenSource(r, strictjson.Join(path, k))
		case "claims":
			p.Claims = readClaimMapping(r, strictjson.Join(path, k))
		default:
			r.Unknown(path, k)
		}
	}
}

// readJWKS reads a key set. Members of a JWK that carry private key material are errors, so a
// private key pasted by mistake is refused rather than published to every proxy.
func readJWKS(r *strictjson.Reader, path string) *JWKS {
	s := &JWKS{}
	for k := range r.Object(path) {
		switch k {
		case "keys":
			readList(r, path, k, maxJWKSKeys, "keys", &s.Keys, readJWK)
		default:
			r.Unknown(path, k)
		}
	}
	return s
}

func readJWK(r *strictjson.Reader, path string, j *JWK) {
	for k := range r.Object(path) {
		switch k {
		case "kty":
			j.Kty = r.String(path, k)
		case "kid":
			j.Kid = r.String(path, k)
		case "alg":
			j.Alg = r.String(path, k)
		case "use":
			j.Use = r.String(path, k)
		case "crv":
			j.Crv = r.String(path, k)
		case "n":
			j.N = r.String(path, k)
		case "e":
			j.E = r.String(path, k)
		case "x":
			j.X = r.String(path, k)
		case "y":
			j.Y = r.String(path, k)
		case "k":
			j.K = r.String(path, k)
		case "d", "p", "q", "dp", "dq", "qi", "oth":
			r.Skip()
			r.FieldErrorf(path, k, "is private key material: a JWKS here holds public keys only")
		case "x5c", "x5t", "x5t#S256", "x5u", "key_ops", "ext":
			// Certificate data and hints an issuer's JWKS often carries: never used (keys are
			// taken from n/e, x/y, k only, and nothing is ever fetched from x5u).
			r.Skip()
		default:
			r.Unknown(path, k)
		}
	}
}

func readTokenSource(r *strictjson.Reader, path string) *TokenSource {
	s := &TokenSource{}
	for k := range r.Object(path) {
		switch k {
		case "header":
			s.Header = r.String(path, k)
		case "cookie":
			s.Cookie = r.String(path, k)
		case "query":
			s.Query = r.String(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	return s
}

func readClaimMapping(r *strictjson.Reader, path string) *ClaimMapping {
	m := &ClaimMapping{}
	for k := range r.Object(path) {
		switch k {
		case "permissions":
			m.Permissions = r.String(path, k)
		case "admin":
			m.Admin = r.String(path, k)
		case "staff":
			m.Staff = r.String(path, k)
		case "headers":
			readList(r, path, k, maxClaimHeaders, "headers", &m.Headers, readClaimHeader)
		default:
			r.Unknown(path, k)
		}
	}
	return m
}

func readClaimHeader(r *strictjson.Reader, path string, h *ClaimHeader) {
	for k := range r.Object(path) {
		switch k {
		case "claim":
			h.Claim = r.String(path, k)
		case "header":
			h.Header = r.String(path, k)
		default:
			r.Unknown(path, k)
		}
	}
}

func readRevocation(r *strictjson.Reader, path string, v *Revocation) {
	for k := range r.Object(path) {
		switch k {
		case "jti":
			v.JTI = r.String(path, k)
		case "expires_at":
			v.ExpiresAt = r.Time(path, k)
		default:
			r.Unknown(path, k)
		}
	}
}
