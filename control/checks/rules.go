package checks

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// rules run in this order; each adds the warnings of one or more catalog ids.
var rules = []func(*collector, *policy.Document, Inputs){
	defaultAllow, shadowing, limits, keys, cors, hsts, webhookRotation, jwtProviders, tiers, ipLists,
}

func routePath(i int) string { return strictjson.Index("routes", i) }

func defaultAllow(c *collector, doc *policy.Document, _ Inputs) {
	if doc.DefaultAction == policy.ActionAllow {
		c.add("PC001", "default_action", `requests that match no route are allowed without authentication; use "deny" and add a route with auth none for what must stay public`)
	}
}

func limits(c *collector, doc *policy.Document, _ Inputs) {
	check := func(path string, l policy.Limits) {
		over := func(field string, v, bound int64) {
			if v > bound {
				c.add("PC003", strictjson.Join(path, field), fmt.Sprintf("%d is above %d: a client can make the filter and the upstream buffer this much per request", v, bound))
			}
		}
		over("max_header_count", int64(l.MaxHeaderCount), int64(saneLimits.headerCount))
		over("max_header_bytes", int64(l.MaxHeaderBytes), int64(saneLimits.headerBytes))
		over("max_header_value_bytes", int64(l.MaxHeaderValueBytes), int64(saneLimits.headerValueBytes))
		over("max_body_bytes", l.MaxBodyBytes, saneLimits.bodyBytes)
	}
	check("default_limits", doc.DefaultLimits)
	for i, r := range doc.Routes {
		check(strictjson.Join(routePath(i), "limits"), r.Limits)
	}
}

func keys(c *collector, doc *policy.Document, in Inputs) {
	for i, k := range doc.Keys {
		p := strictjson.Index("keys", i)
		if k.ExpiresAt.IsZero() {
			c.add("PC004", strictjson.Join(p, "expires_at"), fmt.Sprintf("key %s never expires: give it an expiry and renew it", k.ID))
		}
		u, ok := in.Usage[k.ID]
		if !ok {
			continue
		}
		switch {
		case !u.LastUsedAt.IsZero() && in.Now.Sub(u.LastUsedAt) > UnusedAfter:
			c.add("PC005", p, fmt.Sprintf("key %s was last used %s (%d days ago): revoke it if nothing needs it", k.ID, u.LastUsedAt.UTC().Format("2006-01-02"), days(in.Now.Sub(u.LastUsedAt))))
		case u.LastUsedAt.IsZero() && !u.CreatedAt.IsZero() && in.Now.Sub(u.CreatedAt) > UnusedAfter:
			c.add("PC005", p, fmt.Sprintf("key %s was never used in the %d days since it was created: revoke it if nothing needs it", k.ID, days(in.Now.Sub(u.CreatedAt))))
		}
	}
}

func cors(c *collector, doc *policy.Document, _ Inputs) {
	for i, r := range doc.Routes {
		if r.CORS == nil {
			continue
		}
		op := strictjson.Join(strictjson.Join(routePath(i), "cors"), "allowed_origins")
		for j, o := range r.CORS.AllowedOrigins {
			p := strictjson.Index(op, j)
			switch {
			case o == "*":
				c.add("PC006", p, fmt.Sprintf("route %q lets every web site read its responses from a visitor's browser; list the origins", r.Name))
			case r.CORS.AllowCredentials && (o == "null" || strings.Contains(o, "://*.")):
				c.add("PC007", p, fmt.Sprintf("route %q sends credentialed responses to %q: any %s can read a signed-in user's data; list exact origins", r.Name, o, originKind(o)))
			}
		}
	}
}

func originKind(o string) string {
	if o == "null" {
		return "sandboxed frame or file: page"
	}
	return "subdomain (including a taken-over or user-controlled one)"
}

func hsts(c *collector, doc *policy.Document, _ Inputs) {
	for i, r := range doc.Routes {
		if r.SecurityHeaders != nil && r.SecurityHeaders.HSTS == nil {
			c.add("PC008", strictjson.Join(strictjson.Join(routePath(i), "security_headers"), "hsts"),
				fmt.Sprintf("route %q hardens responses but sends no Strict-Transport-Security: browsers may still reach it over plain HTTP", r.Name))
		}
	}
}

func webhookRotation(c *collector, doc *policy.Document, in Inputs) {
	for i, w := range doc.Webhooks {
		at, ok := in.SecretChangedAt[w.Name]
		if !ok || w.NextSecret != "" || in.Now.Sub(at) <= RotationAge {
			continue
		}
		c.add("PC009", strictjson.Index("webhooks", i), fmt.Sprintf("verifier %q has used the same secret for %d days with no next secret staged: stage one (PATCH next_secret), change it at the provider, then rotate", w.Name, days(in.Now.Sub(at))))
	}
}

// hashBytes is the HMAC output size of each HS algorithm: RFC 7518 §3.2 asks for a key at
// least this long.
var hashBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

func jwtProviders(c *collector, doc *policy.Document, _ Inputs) {
	for i, p := range doc.JWTProviders {
		pp := strictjson.Index("jwt_providers", i)
		if p.JWKS != nil {
			for j, k := range p.JWKS.Keys {
				if k.Kty != "oct" {
					continue
				}
				secret, err := base64.RawURLEncoding.DecodeString(k.K)
				if err != nil {
					continue // validation refuses it; nothing to judge
				}
				for _, alg := range p.Algorithms {
					need, hs := hashBytes[alg]
					if hs && (k.Alg == "" || k.Alg == alg) && len(secret) < need {
						c.add("PC010", strictjson.Index(strictjson.Join(strictjson.Join(pp, "jwks"), "keys"), j),
							fmt.Sprintf("provider %q accepts %s with a %d-byte secret; %s needs at least %d bytes (or pin the key to a shorter algorithm with alg)", p.Name, alg, len(secret), alg, need))
						break
					}
				}
			}
		}
		if p.From != nil && p.From.Query != "" {
			c.add("PC011", strictjson.Join(strictjson.Join(pp, "from"), "query"), fmt.Sprintf("provider %q takes tokens from the URL, which proxies, logs and browser history keep; use a header or cookie", p.Name))
		}
		if p.MaxLifetimeSeconds > MaxTokenLifetime {
			c.add("PC012", strictjson.Join(pp, "max_lifetime_seconds"), fmt.Sprintf("provider %q accepts tokens valid for up to %d days: a stolen token stays useful that long", p.Name, p.MaxLifetimeSeconds/86_400))
		}
	}
}

func tiers(c *collector, doc *policy.Document, _ Inputs) {
	if len(doc.RateLimitTiers) == 0 {
		return
	}
	for _, t := range doc.RateLimitTiers {
		if t.Name == policy.DefaultTier {
			return
		}
	}
	// One warning for all such keys: a server's keys never name a tier, so there may be
	// thousands.
	var untiered []string
	for _, k := range doc.Keys {
		if k.Tier == "" {
			untiered = append(untiered, k.ID)
		}
	}
	if len(untiered) > 0 {
		c.add("PC013", "rate_limit_tiers", fmt.Sprintf("%d keys (%s first) name no tier and there is no %q tier: they have no per-key rate limit; add a %q tier (keys managed by the control server never name one)",
			len(untiered), untiered[0], policy.DefaultTier, policy.DefaultTier))
	}
}

func ipLists(c *collector, doc *policy.Document, _ Inputs) {
	check := func(path string, list []string) {
		for j, e := range list {
			if pfx, err := netip.ParsePrefix(e); err == nil && pfx.Bits() == 0 {
				c.add("PC014", strictjson.Index(path, j), fmt.Sprintf("%s admits every %s address: the allow list restricts nothing for that family", e, family(pfx.Addr())))
			}
		}
	}
	check("ip_allow", doc.IPAllow)
	for i, r := range doc.Routes {
		check(strictjson.Join(routePath(i), "ip_allow"), r.IPAllow)
	}
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func days(d time.Duration) int { return int(d.Hours() / 24) }
