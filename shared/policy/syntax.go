package policy

import "strings"

// hostPatternProblem describes what is wrong with a lower-cased host pattern, or returns "".
func hostPatternProblem(h string) string {
	if h == "*" {
		return ""
	}
	name := h
	if strings.HasPrefix(h, "*.") {
		name = h[2:]
	}
	if name == "" || len(name) > 253 {
		return "must be a host name, \"*.\" followed by a host name, or \"*\""
	}
	for rest := name; ; {
		label, tail, more := strings.Cut(rest, ".")
		rest = tail
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "must be a host name, \"*.\" followed by a host name, or \"*\" (no port, no empty labels)"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "must be a host name, \"*.\" followed by a host name, or \"*\" (letters, digits, '-' only)"
			}
		}
		if !more {
			return ""
		}
	}
}

// pathPrefixProblem describes what is wrong with a path prefix, or returns "". Prefixes are
// compared with normalized request paths, so a prefix that no normalized path can have (dot
// segments, percent-encoding, a query) would silently never match.
func pathPrefixProblem(p string) string {
	switch {
	case p == "":
		return "must not be empty (use \"/\" for every path)"
	case p[0] != '/':
		return "must start with '/'"
	case strings.ContainsAny(p, "?#%\\"):
		return "must not contain '?', '#', '%' or '\\'"
	case strings.Contains(p, "//"):
		return "must not contain empty segments (\"//\")"
	case hasControl(p) || strings.Contains(p, " "):
		return "must not contain spaces or control characters"
	}
	for rest := p; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == "." || seg == ".." {
			return "must not contain '.' or '..' segments"
		}
	}
	return ""
}

func isIdentifier(s string, max int) bool {
	if s == "" || len(s) > max || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isPermission(s string) bool {
	if s == "" || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(":._/*-", rune(c)) {
			return false
		}
	}
	return true
}

func isMethod(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// normalizeHex reports whether *s is n hex digits and lower-cases it in place if needed. One
// pass over a local copy (a loop through the pointer would reload it every byte), no allocation
// for the usual lower-case input: it runs once per key of a snapshot.
func normalizeHex(s *string, n int) bool {
	v := *s
	if len(v) != n {
		return false
	}
	upper := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return false
		}
	}
	if upper {
		*s = strings.ToLower(v)
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
