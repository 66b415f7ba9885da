package engine

// ApplyEdits returns headers as the upstream sees them after an allow decision: the removals
// first (every occurrence, case-insensitively), then the identity headers. Hosts apply the same
// edits through their own header-map calls; this is the reference for tests and dry runs.
func ApplyEdits(headers [][2]string, d *Decision) [][2]string {
	out := make([][2]string, 0, len(headers)+len(d.Set))
	for _, h := range headers {
		drop := false
		for _, name := range d.Remove {
			if equalFold(h[0], name) {
				drop = true
				break
			}
		}
		for _, s := range d.Set {
			if equalFold(h[0], s[0]) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, h)
		}
	}
	return append(out, d.Set...)
}
