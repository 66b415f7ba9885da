package policy

import (
	"strings"
	"testing"
)

// Every bad rate-limit value is refused with its JSON path.
func TestRateLimitErrors(t *testing.T) {
	route := func(auth, limits string) string {
		return `{"version":1,"routes":[{"name":"r","auth":{"type":"` + auth + `"},"rate_limits":[` + limits + `]}]}`
	}
	tests := []struct{ name, doc, want string }{
		{"missing by", route("none", `{"rate":1,"per":"second"}`), `routes[0].rate_limits[0].by: required`},
		{"unknown by", route("none", `{"by":"cookie","rate":1,"per":"second"}`), `routes[0].rate_limits[0].by: must be "ip", "api_key"`},
		{"key limit on a public route", route("none", `{"by":"api_key","rate":1,"per":"second"}`), `routes[0].rate_limits[0].by: "api_key" needs an authenticated route`},
		{"bad header name", route("none", `{"by":"header:a b","rate":1,"per":"second"}`), `routes[0].rate_limits[0].by: must name a header`},
		{"missing per", route("none", `{"by":"ip","rate":1}`), `routes[0].rate_limits[0].per: required: "second", "minute" or "hour"`},
		{"per day", route("none", `{"by":"ip","rate":1,"per":"day"}`), `routes[0].rate_limits[0].per: required`},
		{"negative rate", route("none", `{"by":"ip","rate":-1,"per":"second"}`), `routes[0].rate_limits[0].rate: must be between 0 and 1000000`},
		{"rate too high", route("none", `{"by":"ip","rate":1000001,"per":"second"}`), `routes[0].rate_limits[0].rate: must be between 0 and 1000000`},
		{"burst 0", route("none", `{"by":"ip","rate":1,"per":"second","burst":0}`), `routes[0].rate_limits[0].burst: must be at least 1`},
		{"rate 0 with burst", route("none", `{"by":"ip","rate":0,"per":"second","burst":5}`), `routes[0].rate_limits[0].burst: must be 0 with rate 0`},
		{"global rate 0", route("none", `{"by":"ip","rate":0,"per":"second","global":true}`), `routes[0].rate_limits[0].global: a limit of rate 0`},
		{"failure mode without global", route("none", `{"by":"ip","rate":1,"per":"second","failure_mode":"deny"}`), `routes[0].rate_limits[0].failure_mode: applies only to global limits`},
		{"bad failure mode", route("none", `{"by":"ip","rate":1,"per":"second","global":true,"failure_mode":"open"}`), `routes[0].rate_limits[0].failure_mode: must be "allow" or "deny"`},
		{"bad exempt method", route("none", `{"by":"ip","rate":1,"per":"second","exempt":{"methods":["get"]}}`), `routes[0].rate_limits[0].exempt.methods[0]: must be an upper-case HTTP method`},
		{"bad exempt prefix", route("none", `{"by":"ip","rate":1,"per":"second","exempt":{"path_prefixes":["x"]}}`), `routes[0].rate_limits[0].exempt.path_prefixes[0]: must start with '/'`},
		{"duplicate limit", route("none", `{"by":"ip","rate":1,"per":"second"},{"by":"ip","rate":5,"per":"second"}`), `routes[0].rate_limits[1]: duplicates [0]`},
		{"too many limits", route("none", strings.Repeat(`{"by":"ip","rate":1,"per":"second"},`, 8)+`{"by":"ip","rate":1,"per":"second"}`), `routes[0].rate_limits: has more than 8 rate limits`},
		{"unknown field", route("none", `{"by":"ip","rate":1,"per":"second","window":1}`), `routes[0].rate_limits[0].window: unknown field`},
		{"concurrency without limit", `{"version":1,"routes":[{"name":"r","auth":{"type":"none"},"max_concurrent":[{"by":"ip"}]}]}`, `routes[0].max_concurrent[0].limit: required`},
		{"concurrency by key on a public route", `{"version":1,"routes":[{"name":"r","auth":{"type":"none"},"max_concurrent":[{"by":"api_key","limit":1}]}]}`, `routes[0].max_concurrent[0].by: "api_key" needs an authenticated route`},
		{"tier by ip", `{"version":1,"rate_limit_tiers":[{"name":"t","limits":[{"by":"ip","rate":1,"per":"second"}]}]}`, `rate_limit_tiers[0].limits[0].by: a tier's limits are per identity`},
		{"empty tier", `{"version":1,"rate_limit_tiers":[{"name":"t","limits":[]}]}`, `rate_limit_tiers[0].limits: must hold at least one limit`},
		{"duplicate tier", `{"version":1,"rate_limit_tiers":[{"name":"t","limits":[{"rate":1,"per":"second"}]},{"name":"t","limits":[{"rate":1,"per":"second"}]}]}`, `rate_limit_tiers[1].name: duplicates rate_limit_tiers[0].name "t"`},
		{"unknown tier", `{"version":1,"keys":[{"id":"k","sha256":"` + strings.Repeat("a", 64) + `","tier":"gold"}]}`, `keys[0].tier: names no rate_limit_tiers entry ("gold")`},
		{"bad ipv6 prefix", `{"version":1,"rate_limit_ipv6_prefix":129}`, `rate_limit_ipv6_prefix: must be at most 128`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Defaults: burst is the rate, a global limit fails open, a tier's limit is per key, and a
// header name is lower-cased.
func TestRateLimitDefaults(t *testing.T) {
	doc, err := Parse([]byte(`{"version":1,
	  "rate_limit_tiers":[{"name":"t","limits":[{"rate":3,"per":"minute"}]}],
	  "routes":[{"name":"r","auth":{"type":"none"},"rate_limits":[{"by":"header:X-Tenant","rate":7,"per":"second","global":true},{"by":"ip","rate":0,"per":"hour"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	l := doc.Routes[0].RateLimits
	if l[0].Burst != 7 || l[0].FailureMode != FailureAllow || l[0].By != "header:x-tenant" || l[1].Burst != 0 {
		t.Fatalf("limits %+v", l)
	}
	if tl := doc.RateLimitTiers[0].Limits[0]; tl.By != ByAPIKey || tl.Burst != 3 {
		t.Fatalf("tier limit %+v", tl)
	}
}
