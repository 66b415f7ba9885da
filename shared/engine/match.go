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
func (e *Engine) match(host, method, path string) *route {
	exact, wild := e.byHost[host], e.anyHostRoutes
	for len(exact) > 0 || len(wild) > 0 {
		var i int
		if len(wild) == 0 || (len(exact) > 0 && exact[0] < wild[0]) {
			i, exact = exact[0], exact[1:]
		} else {
			i, wild = wild[0], wild[1:]
		}
		if r := &e.routes[i]; r.matches(host, method, path) {
			return r
		}
	}
	return nil
}

func (r *route) matches(host, method, path string) bool {
	if !hasPathPrefix(path, r.prefix) {
		return false
	}
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
