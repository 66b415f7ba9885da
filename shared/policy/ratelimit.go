package policy

import (
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// RateLimit is a token bucket: Burst tokens at most, refilled at Rate tokens per Per. Each
// request takes one token from the bucket of its identity (By); with none left it is refused
// with 429. Several limits on a route are all or nothing: a request refused by one takes from
// none.
type RateLimit struct {
	// By is what the bucket is keyed by: "ip" (the client address; IPv6 per IPv6Prefix),
	// "api_key", "user", "header:<name>" (the header's value) or "route" (one bucket for the
	// whole route).
	By string `json:"by"`
	// Rate is how many tokens come back per Per. 0 refuses every request.
	Rate int64 `json:"rate"`
	// Per is "second", "minute" or "hour".
	Per string `json:"per"`
	// Burst is the bucket's size: how many requests pass at once after a quiet period. It
	// defaults to Rate (and is 0 when Rate is 0).
	Burst int64 `json:"burst"`
	// Global counts the limit across every Envoy instance in Redis, through the rate-limit
	// service; the local bucket stays as a first line.
	Global bool `json:"global,omitempty"`
	// FailureMode is what a global limit does when its counter cannot be reached: "allow"
	// (the default) or "deny".
	FailureMode string `json:"failure_mode,omitempty"`
	// Exempt lists requests the limit does not count.
	Exempt *RateLimitExempt `json:"exempt,omitempty"`
}

// RateLimitExempt exempts requests by method or by path prefix (either is enough).
type RateLimitExempt struct {
	Methods      []string `json:"methods,omitempty"`
	PathPrefixes []string `json:"path_prefixes,omitempty"`
}

// RateLimitTier is a named set of limits per identity. A key picks one with Key.Tier; the
// tier's buckets are per identity and shared by every route the identity uses. Tiers are a
// list of named entries, like webhooks, so their order is part of the document.
type RateLimitTier struct {
	Name   string      `json:"name"`
	Limits []RateLimit `json:"limits"`
}

// ConcurrencyLimit bounds the requests of one identity (By: "ip", "api_key", "user",
// "header:<name>" or "route") in flight at once, from the request headers to the end of the
// stream.
type ConcurrencyLimit struct {
	By    string `json:"by"`
	Limit int64  `json:"limit"`
}

// Rate-limit vocabulary and bounds.
const (
	ByIP     = "ip"
	ByAPIKey = "api_key"
	ByUser   = "user"
	ByRoute  = "route"
	// ByHeaderPrefix prefixes a header name: "header:x-tenant".
	ByHeaderPrefix = "header:"

	FailureAllow = "allow"
	FailureDeny  = "deny"

	DefaultIPv6Prefix = 64

	// MaxRate and MaxBurst keep the bucket arithmetic exact in 64 bits (engine/bucket.go).
	MaxRate  = 1_000_000
	MaxBurst = 1_000_000
	// MaxRateLimitsPerRoute, MaxConcurrencyLimits, MaxTiers and MaxTierLimits bound the work
	// of one request and the size of a policy.
	MaxRateLimitsPerRoute = 8
	MaxConcurrencyLimits  = 4
	MaxTiers              = 100
	MaxTierLimits         = 8
	MaxConcurrent         = 1_000_000
	// DefaultTier applies to keys that name no tier, when the policy defines it.
	DefaultTier = "default"
)

// PerSeconds maps the "per" names to their length in seconds.
var PerSeconds = map[string]int64{"second": 1, "minute": 60, "hour": 3600}

func readRateLimits(r *strictjson.Reader, path, field string) []RateLimit {
	var out []RateLimit
	readList(r, path, field, MaxRateLimitsPerRoute, "rate limits", &out, readRateLimit)
	return out
}

func readRateLimit(r *strictjson.Reader, path string, l *RateLimit) {
	burstSet := false
	for k := range r.Object(path) {
		switch k {
		case "by":
			l.By = r.String(path, k)
		case "rate":
			l.Rate = r.NonNegativeInt(path, k, MaxRate)
		case "per":
			l.Per = r.String(path, k)
		case "burst":
			burstSet = true
			l.Burst = r.NonNegativeInt(path, k, MaxBurst)
		case "global":
			l.Global = r.Bool(path, k)
		case "failure_mode":
			l.FailureMode = r.String(path, k)
		case "exempt":
			l.Exempt = readExempt(r, strictjson.Join(path, k))
		default:
			r.Unknown(path, k)
		}
	}
	if !burstSet {
		l.Burst = l.Rate
	}
	if l.Global && l.FailureMode == "" {
		l.FailureMode = FailureAllow
	}
}

func readExempt(r *strictjson.Reader, path string) *RateLimitExempt {
	e := &RateLimitExempt{}
	for k := range r.Object(path) {
		switch k {
		case "methods":
			e.Methods = r.Strings(path, k)
		case "path_prefixes":
			e.PathPrefixes = r.Strings(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	return e
}

func readConcurrencyLimits(r *strictjson.Reader, path, field string) []ConcurrencyLimit {
	var out []ConcurrencyLimit
	readList(r, path, field, MaxConcurrencyLimits, "concurrency limits", &out, func(r *strictjson.Reader, path string, c *ConcurrencyLimit) {
		for k := range r.Object(path) {
			switch k {
			case "by":
				c.By = r.String(path, k)
			case "limit":
				c.Limit = r.PositiveInt(path, k, MaxConcurrent)
			default:
				r.Unknown(path, k)
			}
		}
	})
	return out
}

func readTier(r *strictjson.Reader, path string, t *RateLimitTier) {
	for k := range r.Object(path) {
		switch k {
		case "name":
			t.Name = r.String(path, k)
		case "limits":
			readList(r, path, k, MaxTierLimits, "rate limits", &t.Limits, readRateLimit)
		default:
			r.Unknown(path, k)
		}
	}
	for i := range t.Limits {
		if t.Limits[i].By == "" {
			t.Limits[i].By = ByAPIKey // a tier is per identity
		}
	}
}

// checkRouteRateLimits validates a route's rate and concurrency limits.
func checkRouteRateLimits(d *strictjson.Decoder, rt *Route, path string) {
	lp := strictjson.Join(path, "rate_limits")
	for i := range rt.RateLimits {
		checkRateLimit(d, &rt.RateLimits[i], strictjson.Index(lp, i), rt.Auth.Type != AuthNone, false)
	}
	checkDistinctLimits(d, rt.RateLimits, lp)
	cp := strictjson.Join(path, "max_concurrent")
	seen := map[string]int{}
	for i, c := range rt.MaxConcurrent {
		ip := strictjson.Index(cp, i)
		if msg := byProblem(&rt.MaxConcurrent[i].By, rt.Auth.Type != AuthNone, false); msg != "" {
			d.FieldErrorf(ip, "by", "%s", msg)
		}
		if c.Limit == 0 {
			d.FieldErrorf(ip, "limit", "required: a positive number of requests in flight")
		}
		if j, dup := seen[rt.MaxConcurrent[i].By]; dup {
			d.FieldErrorf(ip, "by", "duplicates max_concurrent[%d]: one limit per identity", j)
		}
		seen[rt.MaxConcurrent[i].By] = i
	}
}

// checkRateLimit validates one limit; authenticated says whether an identity exists where it
// applies, tier whether it belongs to a tier (per identity only).
func checkRateLimit(d *strictjson.Decoder, l *RateLimit, path string, authenticated, tier bool) {
	if msg := byProblem(&l.By, authenticated, tier); msg != "" {
		d.FieldErrorf(path, "by", "%s", msg)
	}
	if _, ok := PerSeconds[l.Per]; !ok {
		d.FieldErrorf(path, "per", `required: "second", "minute" or "hour"`)
	}
	switch {
	case l.Rate == 0 && l.Burst != 0:
		d.FieldErrorf(path, "burst", "must be 0 with rate 0 (a bucket that never refills would be a quota no restart keeps)")
	case l.Rate > 0 && l.Burst == 0:
		d.FieldErrorf(path, "burst", "must be at least 1: a smaller bucket never holds a whole token")
	}
	if l.Global && l.Rate == 0 {
		d.FieldErrorf(path, "global", "a limit of rate 0 refuses every request and needs no global counter")
	}
	switch {
	case l.FailureMode != "" && !l.Global:
		d.FieldErrorf(path, "failure_mode", "applies only to global limits")
	case l.FailureMode != "" && l.FailureMode != FailureAllow && l.FailureMode != FailureDeny:
		d.FieldErrorf(path, "failure_mode", `must be "allow" or "deny"`)
	}
	if e := l.Exempt; e != nil {
		ep := strictjson.Join(path, "exempt")
		for i, m := range e.Methods {
			if !isMethod(m) {
				d.Errorf(strictjson.Index(strictjson.Join(ep, "methods"), i), "must be an upper-case HTTP method such as GET, not %q", m)
			}
		}
		checkUnique(d, e.Methods, strictjson.Join(ep, "methods"))
		for i, p := range e.PathPrefixes {
			if msg := pathPrefixProblem(p); msg != "" {
				d.Errorf(strictjson.Index(strictjson.Join(ep, "path_prefixes"), i), "%s", msg)
			}
		}
		checkUnique(d, e.PathPrefixes, strictjson.Join(ep, "path_prefixes"))
	}
}

// checkDistinctLimits refuses two limits with the same key and period: they would share one
// bucket's state.
func checkDistinctLimits(d *strictjson.Decoder, limits []RateLimit, path string) {
	for i := 1; i < len(limits); i++ {
		for j := 0; j < i; j++ {
			if limits[i].By == limits[j].By && limits[i].Per == limits[j].Per {
				d.Errorf(strictjson.Index(path, i), "duplicates [%d]: one limit per \"by\" and \"per\"", j)
				break
			}
		}
	}
}

// byProblem checks (and lower-cases the header name of) a "by" value.
func byProblem(by *string, authenticated, tier bool) string {
	switch b := *by; {
	case b == ByAPIKey || b == ByUser:
		if !authenticated {
			return `"` + b + `" needs an authenticated route (auth is "none")`
		}
	case tier:
		return `a tier's limits are per identity: "api_key" or "user"`
	case b == ByIP || b == ByRoute:
	case strings.HasPrefix(b, ByHeaderPrefix):
		name := strings.ToLower(b[len(ByHeaderPrefix):])
		if !isToken(name) || strings.HasPrefix(name, ":") {
			return "must name a header: \"header:x-tenant\""
		}
		*by = ByHeaderPrefix + name
	case b == "":
		return `required: "ip", "api_key", "user", "header:<name>" or "route"`
	default:
		return `must be "ip", "api_key", "user", "header:<name>" or "route"`
	}
	return ""
}

// checkTiers validates the tiers and the keys' references to them.
func checkTiers(d *strictjson.Decoder, doc *Document, path string) {
	tp := strictjson.Join(path, "rate_limit_tiers")
	names := make(map[string]int, len(doc.RateLimitTiers))
	for i, t := range doc.RateLimitTiers {
		p := strictjson.Index(tp, i)
		if !isIdentifier(t.Name, 64) {
			d.FieldErrorf(p, "name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		} else if j, dup := names[t.Name]; dup {
			d.FieldErrorf(p, "name", "duplicates rate_limit_tiers[%d].name %q", j, t.Name)
		}
		names[t.Name] = i
		lp := strictjson.Join(p, "limits")
		if len(t.Limits) == 0 {
			d.Errorf(lp, "must hold at least one limit")
		}
		for j := range t.Limits {
			checkRateLimit(d, &t.Limits[j], strictjson.Index(lp, j), true, true)
		}
		checkDistinctLimits(d, t.Limits, lp)
	}
	for i, k := range doc.Keys {
		if _, ok := names[k.Tier]; k.Tier != "" && !ok {
			d.FieldErrorf(strictjson.Index(strictjson.Join(path, "keys"), i), "tier", "names no rate_limit_tiers entry (%q)", k.Tier)
		}
	}
}
