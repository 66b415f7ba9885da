package engine

// cleanPath returns the path part of a :path value (the query removed) if it is safe to match
// on, or false. Safe means the filter and any upstream read the same path from it:
//   - absolute; no raw control characters anywhere (query included);
//   - no '#' anywhere: a request target never carries a fragment, and a host that cut the path
//     at '#' would judge "/open" while an upstream that does not serves "/open#/../admin";
//   - no ';' path parameters, raw or encoded: Tomcat and Spring drop ";..." from a segment, so
//     "/public/..;/admin" would pass a check on /public and be served as /admin;
//   - no empty, "." or ".." segments, raw or percent-encoded;
//   - no encoded '/', '\' or control character (%00-%1f, %7f);
//   - no percent-encoded unreserved characters: "/%61dmin" would not match a route on "/admin"
//     but reaches the upstream as /admin. Clients never need to encode unreserved characters
//     (RFC 3986 §2.3), so rejecting them costs nothing legitimate.
//
// Other escapes pass here, but a path whose decoded form selects another route than its raw
// form ("/v1/files%3aupload" and a route on "/v1/files:upload") is refused by match.
//
// The query is only checked for raw control characters: encoded ones there are form data.
func cleanPath(p string) (string, bool) {
	if p == "" || p[0] != '/' {
		return "", false
	}
	end := len(p)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c == 0x7f || c == '#' {
			return "", false
		}
		if c == '?' && end == len(p) {
			end = i
		}
	}
	path := p[:end]
	segStart := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			c := path[i]
			if c == '\\' || c == ';' {
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

// safeEscape checks the escape at path[i] ('%'): two hex digits, not an encoded '/', '\', ';'
// or control character, '.' left to the dot segment check, and not an unreserved character.
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
	case b == '/' || b == '\\' || b == ';' || b < 0x20 || b == 0x7f:
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

// hasDecodedPrefix is hasPathPrefix on path percent-decoded, as an upstream that decodes reads
// it: "/v1/files%3aupload" is below "/v1/files:upload". path is a cleanPath result (escapes
// well formed, no encoded '/'), so a segment boundary is a raw '/' on both sides. Decoding as it
// compares keeps matching free of allocation. Prefixes hold no '%' (policy validation), so a
// raw match is always a decoded match; only the converse can fail.
func hasDecodedPrefix(path, prefix string) bool {
	i := 0 // position in path
	for j := 0; j < len(prefix); j++ {
		if i >= len(path) {
			return false
		}
		c, n := path[i], 1
		if c == '%' && i+2 < len(path) {
			hi, _ := unhex(path[i+1])
			lo, _ := unhex(path[i+2])
			c, n = hi<<4|lo, 3
		}
		if c != prefix[j] {
			return false
		}
		i += n
	}
	return i == len(path) || prefix[len(prefix)-1] == '/' || path[i] == '/'
}
