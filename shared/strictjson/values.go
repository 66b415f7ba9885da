package strictjson

import (
	"math"
	"strconv"
	"time"
)

// String reads a string.
func (r *Reader) String(path, field string) string {
	if !r.expect(path, field, String, "a string") {
		return ""
	}
	s, _ := r.readString()
	return s
}

// Strings reads an array of strings. The elements collect on a scratch stack and are then
// copied into a slab shared by the lists this Reader returns (each list capped, so appending
// to one never overwrites the next): a snapshot's thousands of short lists cost a handful of
// allocations instead of one each, which counts in Wasm, where allocation and GC are slow.
// An element that is not a string is an error and stays in the list as "", so the indices of
// the others still match the document's (checks that run after decoding name them).
func (r *Reader) Strings(path, field string) []string {
	base := len(r.strs)
	p := ""
	for i := range r.Array(path, field) {
		if r.Peek() != String {
			if p == "" {
				p = Join(path, field)
			}
			r.expect(Index(p, i), "", String, "a string")
			r.strs = append(r.strs, "")
			continue
		}
		s, _ := r.readString()
		r.strs = append(r.strs, s)
	}
	if len(r.strs) == base {
		return nil
	}
	out := r.slabStrings(len(r.strs) - base)
	copy(out, r.strs[base:])
	clear(r.strs[base:])
	r.strs = r.strs[:base]
	return out
}

// slabStrings returns a capped slice of n strings from the Reader's slab, starting a new slab
// when the current one is too small. Slabs grow from 16 to 1,024 strings, so small documents
// (an API request body) stay small.
func (r *Reader) slabStrings(n int) []string {
	if n > len(r.slab) {
		r.slabSize = min(max(r.slabSize*2, 16), 1024)
		r.slab = make([]string, max(n, r.slabSize))
	}
	out := r.slab[:n:n]
	r.slab = r.slab[n:]
	return out
}

// Bool reads true or false.
func (r *Reader) Bool(path, field string) bool {
	if !r.expect(path, field, Bool, "true or false") {
		return false
	}
	if r.literal("true") {
		return true
	}
	if !r.literal("false") {
		r.fail("invalid literal")
	}
	return false
}

// IsNull consumes a null and reports true, or reports false and consumes nothing.
func (r *Reader) IsNull() bool {
	return r.Peek() == Null && r.literal("null")
}

// Number reads a number's literal text, for callers with their own range rules.
func (r *Reader) Number(path, field, what string) (string, bool) {
	if !r.expect(path, field, Number, what) {
		return "", false
	}
	return r.readNumber()
}

// Int reads an integer. Fractions, exponents and values outside int64 are errors, not silently
// rounded.
func (r *Reader) Int(path, field string) (int64, bool) {
	lit, ok := r.Number(path, field, "an integer")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		r.FieldErrorf(path, field, "must be an integer between %d and %d", int64(math.MinInt64), int64(math.MaxInt64))
		return 0, false
	}
	return n, true
}

// PositiveInt reads a positive integer no larger than max, or returns 0 after recording an error.
func (r *Reader) PositiveInt(path, field string, max int64) int64 {
	n, ok := r.Int(path, field)
	switch {
	case !ok:
		return 0
	case n <= 0:
		r.FieldErrorf(path, field, "must be positive")
		return 0
	case n > max:
		r.FieldErrorf(path, field, "must be at most %d", max)
		return 0
	}
	return n
}

// NonNegativeInt reads an integer from 0 to max, or returns 0 after recording an error.
func (r *Reader) NonNegativeInt(path, field string, max int64) int64 {
	n, ok := r.Int(path, field)
	switch {
	case !ok:
		return 0
	case n < 0 || n > max:
		r.FieldErrorf(path, field, "must be between 0 and %d", max)
		return 0
	}
	return n
}

// Time reads an RFC 3339 timestamp.
func (r *Reader) Time(path, field string) time.Time {
	if !r.expect(path, field, String, "a string") {
		return time.Time{}
	}
	s, ok := r.readString()
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		r.FieldErrorf(path, field, "must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z")
		return time.Time{}
	}
	return t
}
