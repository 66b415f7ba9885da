package engine

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// tokenHeader is what the engine reads from a JOSE header before the library sees the token.
type tokenHeader struct {
	alg, kid, typ, cty string
	hasKid             bool
}

// errHeader is any header the engine refuses: malformed, duplicate names, crit, key
// references (jku, x5u, jwk, x5c) and the like. The reason is deliberately not detailed.
var errHeader = errors.New("unacceptable token header")

// readHeader decodes the JOSE header strictly: duplicate names, an unknown crit (we understand
// no extension, so any crit), and every way to point at or embed a key (jku, x5u, jwk, x5c)
// are refused. Keys come from the provider's key set and nowhere else; nothing is fetched.
func readHeader(seg string) (tokenHeader, error) {
	var h tokenHeader
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return h, errHeader
	}
	r := strictjson.NewReader(raw)
	if r.Peek() != strictjson.Object {
		return h, errHeader
	}
	bad := false
	for k := range r.Object("") {
		switch k {
		case "alg":
			h.alg = r.String("", k)
		case "kid":
			h.kid, h.hasKid = r.String("", k), true
		case "typ":
			h.typ = r.String("", k)
		case "cty":
			h.cty = r.String("", k)
		case "crit", "jku", "x5u", "jwk", "x5c":
			bad = true
		}
	}
	if r.Finish() != nil || bad || h.alg == "" {
		return h, errHeader
	}
	return h, nil
}

// tokenClaims is the claim set as the engine reads it: the registered claims it validates and
// the mapped claims that become the identity. It is read with strictjson, which refuses
// duplicate names and reads types exactly, without reflection.
type tokenClaims struct {
	m *claimMap

	iss, sub, jti string
	aud           []string
	exp, nbf, iat numericDate

	perms        []string
	admin, staff bool
	headers      [][2]string
	extra        string // the claim m.extra names
}

// numericDate is a JSON NumericDate (RFC 7519 §2); set is false when the claim is absent or null.
type numericDate struct {
	time.Time
	set bool
}

// Bounds on what a claim may put into the identity.
const (
	maxTokenPermissions = 256
	maxPermissionLen    = 256
	maxClaimHeaderValue = 1024
)

var errClaims = errors.New("unacceptable token claims")

// read reads the claim set. A registered claim of the wrong type (a string exp, a
// numeric aud), a mapped claim of the wrong type, or a value that cannot travel in a header
// refuses the token; null for exp/nbf/iat counts as absent (so a required exp is missing).
func (c *tokenClaims) read(data []byte) error {
	r := strictjson.NewReader(data)
	if r.Peek() != strictjson.Object {
		return errClaims
	}
	bad := false
	for k := range r.Object("") {
		switch k {
		case "iss":
			c.iss = r.String("", k)
		case "sub":
			c.sub = r.String("", k)
		case "jti":
			c.jti = r.String("", k)
		case "aud":
			switch r.Peek() {
			case strictjson.String:
				c.aud = []string{r.String("", k)}
			case strictjson.Array:
				c.aud = r.Strings("", k)
			default:
				bad = true
			}
		case "exp":
			c.exp = readDate(r, k, &bad)
		case "nbf":
			c.nbf = readDate(r, k, &bad)
		case "iat":
			c.iat = readDate(r, k, &bad)
		default:
			switch {
			case k != "" && k == c.m.extra:
				if r.Peek() != strictjson.String {
					bad = true
				}
				c.extra = r.String("", k)
			case c.m.isMapped(k): // validation keeps registered claims out of the mapping
				bad = bad || !c.readMapped(r, k)
			}
		}
	}
	if r.Finish() != nil || bad {
		return errClaims
	}
	return nil
}

// isMapped reports whether claim k feeds the identity (beyond the registered claims). An
// unmapped role is the empty name, so a claim named "" maps to nothing: it would otherwise
// pass for the admin or staff claim of a provider that maps neither.
func (m *claimMap) isMapped(k string) bool {
	if k == "" {
		return false
	}
	if k == m.permissions || k == m.admin || k == m.staff {
		return true
	}
	for _, h := range m.headers {
		if h.Claim == k {
			return true
		}
	}
	return false
}

// readMapped reads a mapped claim once and hands it to each role it has.
func (c *tokenClaims) readMapped(r *strictjson.Reader, k string) bool {
	var (
		str  string
		list []string
		b    bool
	)
	kind := r.Peek()
	switch kind {
	case strictjson.String:
		str = r.String("", k)
	case strictjson.Array:
		list = r.Strings("", k)
	case strictjson.Bool:
		b = r.Bool("", k)
		str = strconv.FormatBool(b)
	case strictjson.Number:
		str, _ = r.Number("", k, "a number")
	case strictjson.Null:
		r.IsNull()
		return true // an absent value
	default:
		return false
	}
	m := c.m
	if k == m.permissions {
		switch kind {
		case strictjson.String:
			list = strings.Fields(str)
		case strictjson.Array:
		default:
			return false
		}
		if len(list) > maxTokenPermissions {
			return false
		}
		for _, p := range list {
			if p == "" || len(p) > maxPermissionLen || strings.ContainsAny(p, ", ") || hasControlByte(p) {
				return false
			}
		}
		c.perms = list
	}
	if k == m.admin || k == m.staff {
		if kind != strictjson.Bool {
			return false
		}
		if k == m.admin {
			c.admin = b
		}
		if k == m.staff {
			c.staff = b
		}
	}
	for _, h := range m.headers {
		if h.Claim != k {
			continue
		}
		if kind == strictjson.Array || len(str) > maxClaimHeaderValue || hasControlByte(str) {
			return false
		}
		c.headers = append(c.headers, [2]string{h.Header, str})
	}
	return true
}

// readDate reads a NumericDate: a JSON number of seconds (fractions allowed), null as absent.
func readDate(r *strictjson.Reader, k string, bad *bool) numericDate {
	switch r.Peek() {
	case strictjson.Null:
		r.IsNull()
		return numericDate{}
	case strictjson.Number:
	default:
		*bad = true
		return numericDate{}
	}
	lit, ok := r.Number("", k, "a number")
	f, err := strconv.ParseFloat(lit, 64)
	if !ok || err != nil || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		*bad = true
		return numericDate{}
	}
	sec, frac := math.Modf(f)
	return numericDate{Time: time.Unix(int64(sec), int64(frac*1e9)), set: true}
}

func hasControlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
