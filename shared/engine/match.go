package engine

import "strings"

// hostOf returns the lower-case host of an authority: no port, no trailing dot, IPv6 brackets
// kept. It allocates only when the authority has upper-case letters.
func hostOf(authority string) string {
	h := authority
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[:end+1]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// match returns the first route that matches, in document order, or nil. Only the routes that
// could match the host are tested: the exact-host list and the any-host list, merged by position.
//
// ambiguous reports a path whose percent-escapes change the answer: an upstream that decodes
// "/v1/files%3aupload" serves a route on "/v1/files:upload", one that does not serves whatever
// matches the raw path, and the filter cannot judge both. Routes are matched on the decoded
// path; since a raw match is always a decoded match, the answers differ exactly when the first
// decoded match is no raw match.
func (e *Engine) match(host, method, path string) (rt *route, ambiguous bool) {
	escaped := strings.IndexByte(path, '%') >= 0
	exact, wild := e.byHost[host], e.anyHostRoutes
	for len(exact) > 0 || len(wild) > 0 {
		var i int
		if len(wild) == 0 || (len(exact) > 0 && exact[0] < wild[0]) {
			i, exact = exact[0], exact[1:]
		} else {
			i, wild = wild[0], wild[1:]
		}
		r := &e.routes[i]
		if !hasPathPrefix(path, r.prefix) && !(escaped && hasDecodedPrefix(path, r.prefix)) {
			continue
		}
		if r.matches(host, method) {
			return r, escaped && !hasPathPrefix(path, r.prefix)
		}
	}
	return nil, false
}

// matches tests a route whose path prefix matched on the rest: method and host.
func (r *route) matches(host, method string) bool {
	if len(r.methods) > 0 && !contains(r.methods, method) {
		return false
	}
	if r.anyHost {
		return true
	}
	if contains(r.exact, host) {
		return true
	}
	for _, s := range r.suffixes {
		if len(host) > len(s) && strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
