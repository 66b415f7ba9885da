package wasmhost

import "strings"

// headerMap is an ordered header list as Envoy keeps it: lower-case names, pseudo-headers
// first, repeated names kept as separate entries in arrival order.
type headerMap [][2]string

// newHeaderMap copies pairs, lower-casing names and moving pseudo-headers to the front.
func newHeaderMap(pairs [][2]string) headerMap {
	m := make(headerMap, 0, len(pairs))
	for _, kv := range pairs {
		m = m.add(kv[0], kv[1])
	}
	return m
}

// lower returns name in lower case, allocating only when it has upper-case letters.
func lower(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// validName and validValue keep header injection out of the maps: Envoy's codecs would never
// produce such headers, and the gateway must not forward them.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f || c == ':' && i > 0 {
			return false
		}
	}
	return true
}

func validValue(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == 0 || c == '\r' || c == '\n' {
			return false
		}
	}
	return true
}

// get returns the first value of name, as Envoy's get_header_map_value does.
func (m headerMap) get(name string) (string, bool) {
	name = lower(name)
	for _, kv := range m {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// add appends a value; a pseudo-header goes after the existing pseudo-headers.
func (m headerMap) add(name, value string) headerMap {
	name = lower(name)
	if !strings.HasPrefix(name, ":") {
		return append(m, [2]string{name, value})
	}
	i := 0
	for i < len(m) && strings.HasPrefix(m[i][0], ":") {
		i++
	}
	m = append(m, [2]string{})
	copy(m[i+1:], m[i:])
	m[i] = [2]string{name, value}
	return m
}

// replace sets name to exactly one value: the first entry is updated in place and the others
// removed; an absent name is added.
func (m headerMap) replace(name, value string) headerMap {
	name = lower(name)
	out := m[:0]
	found := false
	for _, kv := range m {
		if kv[0] != name {
			out = append(out, kv)
			continue
		}
		if !found {
			found = true
			out = append(out, [2]string{name, value})
		}
	}
	if !found {
		return out.add(name, value)
	}
	return out
}

// remove drops every value of name.
func (m headerMap) remove(name string) headerMap {
	name = lower(name)
	out := m[:0]
	for _, kv := range m {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	return out
}

// clone returns a copy the caller may keep.
func (m headerMap) clone() [][2]string {
	out := make([][2]string, len(m))
	copy(out, m)
	return out
}

// regular returns a copy without pseudo-headers.
func (m headerMap) regular() [][2]string {
	out := make([][2]string, 0, len(m))
	for _, kv := range m {
		if !strings.HasPrefix(kv[0], ":") {
			out = append(out, kv)
		}
	}
	return out
}
