package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/shared/policy"
)

// shadowing finds, by reachability over path prefixes, methods and hosts (first match wins):
// PC002, an auth none route that takes requests a later protected route was meant to
// authenticate; and PC015, a route every request of which an earlier route takes. A route that
// can never match shadows nothing.
func shadowing(c *collector, doc *policy.Document, _ Inputs) {
	dead := make([]bool, len(doc.Routes))
	for j := range doc.Routes {
		for i := range j {
			if !dead[i] && covers(&doc.Routes[i].Match, &doc.Routes[j].Match) {
				dead[j] = true
				c.add("PC015", routePath(j), fmt.Sprintf("route %q is never matched: routes[%d] %q, earlier, takes every request it would", doc.Routes[j].Name, i, doc.Routes[i].Name))
				break
			}
		}
	}
	for i, open := range doc.Routes {
		if open.Auth.Type != policy.AuthNone || dead[i] {
			continue
		}
		for j := i + 1; j < len(doc.Routes); j++ {
			prot := &doc.Routes[j]
			if prot.Auth.Type == policy.AuthNone || !overlaps(&open.Match, &prot.Match) {
				continue
			}
			how := "some requests"
			if covers(&open.Match, &prot.Match) {
				how = "every request"
			}
			c.add("PC002", routePath(i), fmt.Sprintf("route %q (auth none) matches %s of routes[%d] %q (auth %s) first: they reach the upstream unauthenticated; move the protected route above it or narrow the match", open.Name, how, j, prot.Name, prot.Auth.Type))
		}
	}
}

// covers reports whether every request b matches also matches a.
func covers(a, b *policy.Match) bool {
	return pathCovers(a.PathPrefix, b.PathPrefix) && methodsCover(a.Methods, b.Methods) && hostsCover(a.Hosts, b.Hosts)
}

// overlaps reports whether some request matches both a and b.
func overlaps(a, b *policy.Match) bool {
	return (pathCovers(a.PathPrefix, b.PathPrefix) || pathCovers(b.PathPrefix, a.PathPrefix)) &&
		methodsOverlap(a.Methods, b.Methods) && hostsOverlap(a.Hosts, b.Hosts)
}

// pathCovers: every path below prefix b is below prefix a (segment-wise, as the engine
// matches: "/api" covers "/api/x" and "/api/", not "/apix"; "/api/" does not cover "/api").
func pathCovers(a, b string) bool {
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(b) == len(a) || strings.HasSuffix(a, "/") || b[len(a)] == '/'
}

func methodsCover(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, m := range b {
		if !slices.Contains(a, m) {
			return false
		}
	}
	return true
}

func methodsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	return slices.ContainsFunc(a, func(m string) bool { return slices.Contains(b, m) })
}

// anyHost: no hosts, or "*", matches every host.
func anyHost(h []string) bool { return len(h) == 0 || slices.Contains(h, "*") }

func hostsCover(a, b []string) bool {
	if anyHost(a) {
		return true
	}
	if anyHost(b) {
		return false
	}
	for _, hb := range b {
		if !slices.ContainsFunc(a, func(ha string) bool { return hostCovers(ha, hb) }) {
			return false
		}
	}
	return true
}

func hostsOverlap(a, b []string) bool {
	if anyHost(a) || anyHost(b) {
		return true
	}
	for _, ha := range a {
		for _, hb := range b {
			// Exact names and "*.suffix" patterns share a host exactly when one covers the
			// other.
			if hostCovers(ha, hb) || hostCovers(hb, ha) {
				return true
			}
		}
	}
	return false
}

// hostCovers: every host pattern b matches, pattern a matches too ("*.example.com" matches
// any depth below example.com, not example.com itself).
func hostCovers(a, b string) bool {
	if a == b {
		return true
	}
	suffix, wild := strings.CutPrefix(a, "*")
	if !wild {
		return false
	}
	if rest, ok := strings.CutPrefix(b, "*"); ok {
		return strings.HasSuffix(rest, suffix)
	}
	return len(b) > len(suffix) && strings.HasSuffix(b, suffix)
}
