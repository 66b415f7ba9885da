package engine

// cleanPath returns the path part of a :path value (query and fragment removed) if it is safe
// to match on, or false. Safe means: absolute; no control characters or raw backslashes; no
// empty, "." or ".." segments, raw or percent-encoded; no encoded '/', '\' or NUL; and no
// percent-encoded unreserved characters. The last rule closes a route bypass: "/%61dmin" would
// not match a route on "/admin" but reaches the upstream as /admin. Clients never need to
// encode unreserved characters (RFC 3986 §2.3), so rejecting them costs nothing legitimate.
func cleanPath(p string) (string, bool) {
	if p == "" || p[0] != '/' {
		return "", false
	}
	end := len(p)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c == 0x7f {
			return "", false // NUL, CR, LF and friends anywhere, query included
		}
		if (c == '?' || c == '#') && end == len(p) {
			end = i
		}
	}
	path := p[:end]
	segStart := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			c := path[i]
			if c == '\\' {
				return "", false
			}
			if c == '%' {
				if !safeEscape(path, i) {
					return "", false
				}
				i += 2
			}
			continue
		}
		if !safeSegment(path[segStart:i], i == len(path)) {
			return "", false
		}
		segStart = i + 1
	}
	return path, true
}

// safeSegment rejects "", "." and ".." segments and their encoded forms. The final segment may
// be empty (a trailing slash).
func safeSegment(seg string, last bool) bool {
	if seg == "" {
		return last
	}
	if len(seg) > 8 { // the longest dot-only spelling is "%2e%2e" (6 bytes)
		return true
	}
	dots := 0
	for i := 0; i < len(seg); i++ {
		switch {
		case seg[i] == '.':
			dots++
		case seg[i] == '%' && i+2 < len(seg) && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			dots++
			i += 2
		default:
			return true
		}
	}
	return dots > 2
}

// safeEscape checks the escape at path[i] ('%'): two hex digits, not an encoded '/', '\', NUL
// or '.' outside a dot segment check, and not an unreserved character.
func safeEscape(path string, i int) bool {
	if i+2 >= len(path) {
		return false
	}
	hi, ok1 := unhex(path[i+1])
	lo, ok2 := unhex(path[i+2])
	if !ok1 || !ok2 {
		return false
	}
	switch b := hi<<4 | lo; {
	case b == '/' || b == '\\' || b == 0:
		return false
	case b == '.':
		return true // judged by safeSegment, since "a%2ejpg" is harmless
	case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '~':
		return false
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hasPathPrefix matches whole segments: "/api" matches "/api" and "/api/x", not "/apix".
func hasPathPrefix(path, prefix string) bool {
	if len(path) < len(prefix) || path[:len(prefix)] != prefix {
		return false
	}
	return len(path) == len(prefix) || prefix[len(prefix)-1] == '/' || path[len(prefix)] == '/'
}
