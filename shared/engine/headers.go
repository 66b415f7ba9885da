package engine

import "strconv"

// headerScan is what one pass over the request headers learns.
type headerScan struct {
	count, bytes, longestValue int

	authorization, apiKey  int // occurrences
	authValue, apiKeyValue string

	contentLength    int64 // -1 when absent
	badContentLength bool

	reserved bool // the client sent an x-portcullis-* header
}

func scanHeaders(headers [][2]string) headerScan {
	s := headerScan{contentLength: -1}
	for _, h := range headers {
		name, value := h[0], h[1]
		if name != "" && name[0] == ':' {
			continue // pseudo-headers are the proxy's, not the client's header list
		}
		s.count++
		s.bytes += len(name) + len(value)
		if len(value) > s.longestValue {
			s.longestValue = len(value)
		}
		switch {
		case equalFold(name, "authorization"):
			s.authorization++
			s.authValue = value
		case equalFold(name, "x-api-key"):
			s.apiKey++
			s.apiKeyValue = value
		case equalFold(name, "content-length"):
			n, err := strconv.ParseInt(value, 10, 64)
			switch {
			case err != nil || !allDigits(value):
				s.badContentLength = true
			case s.contentLength >= 0 && s.contentLength != n:
				s.badContentLength = true // conflicting lengths: a smuggling attempt
			default:
				s.contentLength = n
			}
		case isReserved(name):
			s.reserved = true
		}
	}
	return s
}

// reservedNames lists the distinct x-portcullis-* header names the client sent, to be removed.
func reservedNames(headers [][2]string) []string {
	var out []string
	for _, h := range headers {
		if !isReserved(h[0]) {
			continue
		}
		dup := false
		for _, n := range out {
			if equalFold(n, h[0]) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, h[0])
		}
	}
	return out
}

// equalFold compares ASCII case-insensitively without allocating. Hosts deliver lower-case
// names, but a host that does not must not turn a credential into "no credential".
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// isReserved reports whether name is in the x-portcullis-* space under any spelling an
// upstream may fold onto it: case-insensitively, and with '_' for '-', since CGI and WSGI
// servers present both X-Portcullis-Key-Id and X_Portcullis_Key_Id as HTTP_X_PORTCULLIS_KEY_ID.
func isReserved(name string) bool {
	if len(name) < len(HeaderPrefix) {
		return false
	}
	for i := 0; i < len(HeaderPrefix); i++ {
		c, want := lower(name[i]), HeaderPrefix[i]
		if c != want && !(want == '-' && c == '_') {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// allDigits rejects the signs and spaces strconv accepts; content-length is 1*DIGIT.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
