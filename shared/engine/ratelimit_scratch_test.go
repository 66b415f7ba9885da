package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
)

// A caller's LimitResult (Request.Limits) is where the checks record, and reusing one for
// request after request leaves each decision exactly the route's response edits plus its own
// RateLimit headers, with the counts going down request by request: nothing of an earlier
// request stays in the result or leaks into the route's shared list of edits, with or without
// security headers on the route.
func TestRequestLimitsScratch(t *testing.T) {
	for _, removed := range []int{0, 3, 12} {
		t.Run(fmt.Sprintf("%d removed headers", removed), func(t *testing.T) {
			var list []string
			for i := range removed {
				list = append(list, fmt.Sprintf(`"x-drop-%d"`, i))
			}
			sec := ""
			if removed > 0 {
				sec = `, "security_headers": {"remove": [` + strings.Join(list, ",") + `]}`
			}
			e := compile(t, `{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"}`+sec+`,
			  "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 3}]}]}`)
			store := engine.NewMemoryCounters()
			base := len(e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/x", Now: t0, Counters: store}).Response) - 2
			var scratch engine.LimitResult
			for i, want := range []struct {
				allow     bool
				ratelimit string
			}{{true, `"header:x-client/hour";r=2`}, {true, `"header:x-client/hour";r=1`}, {true, `"header:x-client/hour";r=0`}, {false, `"header:x-client/hour";r=0`}} {
				d := e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/x", Now: t0, Counters: store,
					Headers: [][2]string{{"x-client", "c"}}, Limits: &scratch})
				if d.Limits != &scratch || d.Allow != want.allow {
					t.Fatalf("request %d: allow %v, limits in the caller's scratch %v", i, d.Allow, d.Limits == &scratch)
				}
				edits := d.Response
				if !d.Allow {
					edits = nil
					for _, h := range d.Headers {
						edits = append(edits, engine.HeaderEdit{Name: h[0], Value: h[1]})
					}
				}
				n, got := 0, ""
				for _, ed := range edits {
					if ed.Name == "ratelimit" {
						n, got = n+1, ed.Value
					}
				}
				if n != 1 || !strings.HasPrefix(got, want.ratelimit) {
					t.Fatalf("request %d: %d ratelimit edits, last %q; want one starting %q", i, n, got, want.ratelimit)
				}
				if d.Allow && len(d.Response) != base+2 {
					t.Fatalf("request %d: %d response edits, want the route's %d and 2", i, len(d.Response), base)
				}
			}
			// The route's own list is untouched: a request from another client sees it plus two.
			if d := e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/x", Now: t0, Counters: store,
				Headers: [][2]string{{"x-client", "other"}}}); len(d.Response) != base+2 {
				t.Fatalf("another client: %d response edits, want %d", len(d.Response), base+2)
			}
		})
	}
}
