package admin

import "errors"

// ErrBadIfMatch is an If-Match header that is neither "*" nor a list of entity tags.
var ErrBadIfMatch = errors.New(`If-Match must be * or a list of quoted entity tags such as "12" (the ETag header of GET /v1/policy)`)

// etagMatches implements If-Match (RFC 9110 13.1.1) with strong comparison: header is "*"
// alone, or a comma-separated list of entity tags, each quoted and optionally weak (W/"…",
// which never matches strongly). An unquoted tag, "*" inside a list, or anything else is
// ErrBadIfMatch: guessing what was meant would turn a typo into a 412 "the policy changed".
func etagMatches(header, etag string) (bool, error) {
	if trimOWS(header) == "*" {
		return true, nil
	}
	match, tags := false, 0
	for s := header; ; {
		s = trimOWSLeft(s)
		for len(s) > 0 && s[0] == ',' { // empty list elements are allowed (RFC 9110 5.6.1)
			s = trimOWSLeft(s[1:])
		}
		if s == "" {
			break
		}
		weak := len(s) >= 2 && s[:2] == "W/"
		if weak {
			s = s[2:]
		}
		if s == "" || s[0] != '"' {
			return false, ErrBadIfMatch
		}
		end := 1
		for end < len(s) && s[end] != '"' {
			if c := s[end]; c != 0x21 && (c < 0x23 || c == 0x7f) { // etagc: %x21 / %x23-7E / obs-text
				return false, ErrBadIfMatch
			}
			end++
		}
		if end == len(s) {
			return false, ErrBadIfMatch
		}
		tag := s[:end+1]
		s = trimOWSLeft(s[end+1:])
		if s != "" && s[0] != ',' {
			return false, ErrBadIfMatch
		}
		tags++
		match = match || (!weak && tag == etag)
	}
	if tags == 0 {
		return false, ErrBadIfMatch
	}
	return match, nil
}

func trimOWSLeft(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimOWS(s string) string {
	s = trimOWSLeft(s)
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
