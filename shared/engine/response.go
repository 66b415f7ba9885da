package engine

// EditMode says how a response header edit treats a header the response already has.
type EditMode uint8

// The response edit modes.
const (
	// EditAdd sets the header only when the response does not have it.
	EditAdd EditMode = iota
	// EditSet replaces every value of the header.
	EditSet
	// EditRemove removes the header.
	EditRemove
	// EditVary adds Value to the comma-separated list in the header unless it is already
	// there (case-insensitively), as Vary needs.
	EditVary
)

// HeaderEdit is one edit of the response headers: the security and CORS headers a route adds
// to the upstream's response and to the filter's own replies.
type HeaderEdit struct {
	Mode        EditMode
	Name, Value string // Name is lower case
}

// ApplyResponseEdits returns headers after edits, in order. It does not modify headers. Hosts
// apply the same edits through their own header-map calls (see EditValue); this is the
// reference for tests, dry runs and the filter's own replies.
func ApplyResponseEdits(headers [][2]string, edits []HeaderEdit) [][2]string {
	out := make([][2]string, len(headers), len(headers)+len(edits))
	copy(out, headers)
	for _, ed := range edits {
		i := indexHeader(out, ed.Name)
		var current string
		if i >= 0 {
			current = out[i][1]
		}
		v, set, remove := EditValue(ed, current, i >= 0)
		switch {
		case remove:
			kept := out[:0]
			for _, h := range out {
				if !equalFold(h[0], ed.Name) {
					kept = append(kept, h)
				}
			}
			out = kept
		case set && i >= 0:
			out[i][1] = v
			// one value remains: drop later duplicates
			kept := out[:i+1]
			for _, h := range out[i+1:] {
				if !equalFold(h[0], ed.Name) {
					kept = append(kept, h)
				}
			}
			out = kept
		case set:
			out = append(out, [2]string{ed.Name, v})
		}
	}
	return out
}

// EditValue decides one edit given the header's current value (present reports whether the
// response has the header at all): the value to set when set is true, or remove.
func EditValue(ed HeaderEdit, current string, present bool) (value string, set, remove bool) {
	switch ed.Mode {
	case EditAdd:
		return ed.Value, !present, false
	case EditSet:
		return ed.Value, true, false
	case EditRemove:
		return "", false, present
	case EditVary:
		if !present || trimSpace(current) == "" {
			return ed.Value, true, false
		}
		if hasToken(current, ed.Value) || hasToken(current, "*") {
			return "", false, false
		}
		return current + ", " + ed.Value, true, false
	}
	return "", false, false
}

// hasToken reports whether the comma-separated list holds tok, case-insensitively.
func hasToken(list, tok string) bool {
	for list != "" {
		var item string
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		item, list = list[:i], list[min(i+1, len(list)):]
		if equalFold(trimSpace(item), tok) {
			return true
		}
	}
	return false
}

func indexHeader(headers [][2]string, name string) int {
	for i, h := range headers {
		if equalFold(h[0], name) {
			return i
		}
	}
	return -1
}
