package engine

import (
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/policy"
)

// byKind is what a limit's bucket is keyed by.
type byKind uint8

const (
	byIP byKind = iota
	byAPIKey
	byUser
	byHeader
	byRoute
)

// rateLimit is a compiled policy.RateLimit.
type rateLimit struct {
	name   string // the limit's name in RateLimit headers and dry runs: "api_key/second"
	by     byKind
	header string // by header: the lower-case header name
	scope  uint64 // hash of where the limit is defined and how it is keyed
	spec   bucketSpec
	rate   int64
	burst  int64
	per    string
	global bool
	// failDeny: a global limit whose counter cannot be reached refuses the request.
	failDeny bool
	// policyItem is the limit's RateLimit-Policy list member; itemPrefix starts its RateLimit
	// list member (`"api_key/second";r=`), built once.
	policyItem     string
	itemPrefix     string
	exemptMethods  []string
	exemptPrefixes []string
}

// rateCheck counts a request against its route's rate limits and its identity's tier, then
// takes its concurrency slots. Compile places it after authentication and the guards, so a
// request that would be refused anyway never spends a token.
type rateCheck struct {
	limits []rateLimit
	tiers  bool // the identity's tier limits apply on this route
	conc   []concLimit
	// policyHeader is the RateLimit-Policy value of the route's own limits.
	policyHeader string
}

func compileRateLimit(l *policy.RateLimit, where string, ipv6Prefix int) rateLimit {
	per := policy.PerSeconds[l.Per]
	c := rateLimit{
		name:     l.By + "/" + l.Per,
		spec:     newBucketSpec(l.Rate, l.Burst, per),
		rate:     l.Rate,
		burst:    l.Burst,
		per:      l.Per,
		global:   l.Global,
		failDeny: l.FailureMode == policy.FailureDeny,
	}
	if where != "" && where[0] == 't' {
		c.name = where[2:] + "/" + c.name // "tier:gold" → "gold/api_key/hour"
	}
	c.by, c.header = parseBy(l.By)
	if l.Exempt != nil {
		c.exemptMethods, c.exemptPrefixes = l.Exempt.Methods, l.Exempt.PathPrefixes
	}
	// The scope names where the limit is defined, what it is keyed by and its period, not its
	// rate or burst: an operator who raises a limit keeps the buckets' state; one who changes
	// what it counts starts new buckets. IPv6 keying is part of it (a different prefix length
	// makes different identities).
	scope := fnvString(fnvOffset, where)
	scope = fnvString(fnvString(scope, "\x00"+l.By+"\x00"), l.Per)
	if c.by == byIP {
		scope = fnvString(scope, "\x00/"+strconv.Itoa(ipv6Prefix))
	}
	if scope == 0 {
		scope = 1 // 0 is the eviction records' wildcard
	}
	c.scope = scope
	// RateLimit-Policy: q is the burst, w the seconds an empty bucket takes to fill (so q/w is
	// the sustained rate). A rate-0 limit has no window.
	item := strconv.Quote(c.name) + ";q=" + strconv.FormatInt(l.Burst, 10)
	if l.Rate > 0 {
		item += ";w=" + strconv.FormatInt(ceilSeconds(c.spec.untilFull(0)), 10)
	}
	c.policyItem = item
	c.itemPrefix = strconv.Quote(c.name) + ";r="
	return c
}

func parseBy(by string) (byKind, string) {
	switch {
	case by == policy.ByIP:
		return byIP, ""
	case by == policy.ByAPIKey:
		return byAPIKey, ""
	case by == policy.ByUser:
		return byUser, ""
	case strings.HasPrefix(by, policy.ByHeaderPrefix):
		return byHeader, by[len(policy.ByHeaderPrefix):]
	}
	return byRoute, ""
}

// compileRateCheck returns the route's rate check, or nil when nothing limits the route.
func (e *Engine) compileRateCheck(r *policy.Route) *rateCheck {
	c := &rateCheck{tiers: r.Auth.Type != policy.AuthNone && len(e.tiers) > 0}
	var items []string
	for i := range r.RateLimits {
		l := compileRateLimit(&r.RateLimits[i], "r:"+r.Name, e.ipv6Prefix)
		c.limits = append(c.limits, l)
		items = append(items, l.policyItem)
		if l.by == byIP {
			e.needsClient = true
		}
	}
	c.policyHeader = strings.Join(items, ", ")
	for _, m := range r.MaxConcurrent {
		c.conc = append(c.conc, compileConcLimit(&m, r.Name))
		if m.By == policy.ByIP {
			e.needsClient = true
		}
	}
	if len(c.limits) == 0 && len(c.conc) == 0 && !c.tiers {
		return nil
	}
	return c
}

// compileTiers compiles the policy's tiers; keys point at theirs (see compileKeys).
func (e *Engine) compileTiers(doc *policy.Document) {
	e.ipv6Prefix = doc.RateLimitIPv6Prefix
	if e.ipv6Prefix == 0 {
		e.ipv6Prefix = policy.DefaultIPv6Prefix
	}
	for _, t := range doc.RateLimitTiers {
		var limits []rateLimit
		for i := range t.Limits {
			limits = append(limits, compileRateLimit(&t.Limits[i], "t:"+t.Name, e.ipv6Prefix))
		}
		if e.tiers == nil {
			e.tiers = make(map[string][]rateLimit)
		}
		e.tiers[t.Name] = limits
	}
}

// tierOf returns the limits of the tier a key names, or of the default tier.
func (e *Engine) tierOf(name string) []rateLimit {
	if name == "" {
		name = policy.DefaultTier
	}
	return e.tiers[name]
}

// UsesCounters reports whether some route counts requests in a Counters store, so the host
// sets one up (EnsureCounters) only then.
func (e *Engine) UsesCounters() bool { return e.usesCounters }

// UsesConcurrency reports whether some route limits requests in flight, so the host renews
// its leases (RenewLeases) only then.
func (e *Engine) UsesConcurrency() bool { return e.usesConcurrency }

// UsesGlobal reports whether some limit is counted by the global rate-limit service.
func (e *Engine) UsesGlobal() bool { return e.usesGlobal }
