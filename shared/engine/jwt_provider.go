package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// jwtProvider is a compiled policy.JWTProvider: its keys decoded once per snapshot, looked up
// by kid inside this provider only, and the parser options that never change.
type jwtProvider struct {
	name        string
	issuer      string
	audiences   []string
	algorithms  []string
	byKid       map[string]*jwtKey
	single      *jwtKey // the only key, when the set has exactly one (tokens without kid)
	leeway      time.Duration
	maxLifetime time.Duration
	requireJTI  bool
	typ         string // lower case, without "application/"
	source      tokenSource
	claims      claimMap
}

// jwtKey is one verification key and the JWK it came from (for the alg / kty / crv binding).
type jwtKey struct {
	jwk policy.JWK
	pub any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// tokenSource is where a provider reads its token.
type tokenSource struct {
	kind sourceKind
	name string // header (lower case), cookie or query parameter name
}

type sourceKind uint8

const (
	sourceBearer sourceKind = iota
	sourceHeader
	sourceCookie
	sourceQuery
)

// claimMap says which claims become which parts of the identity; "" maps nothing.
type claimMap struct {
	permissions  string
	admin, staff string
	headers      []policy.ClaimHeader
	// extra is a claim read as a string for the caller, outside the identity: the qstash
	// webhook preset's "body" (the digest of the body).
	extra string
}

func compileProvider(p *policy.JWTProvider) (*jwtProvider, error) {
	cp := &jwtProvider{
		name:        p.Name,
		issuer:      p.Issuer,
		audiences:   slices.Clone(p.Audiences),
		algorithms:  slices.Clone(p.Algorithms),
		byKid:       map[string]*jwtKey{},
		leeway:      time.Duration(p.LeewaySeconds) * time.Second,
		maxLifetime: time.Duration(p.MaxLifetimeSeconds) * time.Second,
		requireJTI:  p.RequireJTI,
		typ:         normalizeTyp(p.Typ),
		claims:      claimMap{permissions: p.PermissionsClaim()},
	}
	if c := p.Claims; c != nil {
		cp.claims.admin, cp.claims.staff, cp.claims.headers = c.Admin, c.Staff, c.Headers
	}
	switch f := p.From; {
	case f.IsBearer():
		cp.source = tokenSource{kind: sourceBearer, name: "authorization"}
	case f.Header != "":
		cp.source = tokenSource{kind: sourceHeader, name: f.Header}
	case f.Cookie != "":
		cp.source = tokenSource{kind: sourceCookie, name: f.Cookie}
	default:
		cp.source = tokenSource{kind: sourceQuery, name: f.Query}
	}
	if p.JWKS != nil {
		for i := range p.JWKS.Keys {
			k := &p.JWKS.Keys[i]
			pub, err := k.PublicKey()
			if err != nil {
				return nil, fmt.Errorf("jwks.keys[%d]: %w", i, err)
			}
			ck := &jwtKey{jwk: *k, pub: pub}
			if k.Kid != "" {
				cp.byKid[k.Kid] = ck
			}
			if len(p.JWKS.Keys) == 1 {
				cp.single = ck
			}
		}
	}
	return cp, nil
}

// normalizeTyp compares media types the way RFC 7515 §4.1.9 asks: case-insensitively, with
// "application/" optional.
func normalizeTyp(s string) string {
	s = strings.ToLower(s)
	return strings.TrimPrefix(s, "application/")
}

// compileProviders compiles every provider of the document, by name.
func compileProviders(doc *policy.Document) (map[string]*jwtProvider, error) {
	if len(doc.JWTProviders) == 0 {
		return nil, nil
	}
	out := make(map[string]*jwtProvider, len(doc.JWTProviders))
	for i := range doc.JWTProviders {
		p, err := compileProvider(&doc.JWTProviders[i])
		if err != nil {
			return nil, fmt.Errorf("compile policy: jwt_providers[%d]: %w", i, err)
		}
		out[p.name] = p
	}
	return out, nil
}
