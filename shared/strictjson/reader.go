package strictjson

import (
	"fmt"
	"iter"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects a Reader accepts.
const MaxDepth = 64

// SyntaxError reports malformed JSON with the byte offset where reading stopped.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Reader decodes one JSON document in a single pass, straight into the caller's types: the
// caller walks objects with Object and arrays with Array and reads each value with a typed
// method. No tree is built; unescaped strings are substrings of one copy of the input (so a kept
// string keeps that copy alive).
//
// A value of the wrong type is a field error (recorded, the value skipped, decoding goes on); a
// syntax error stops the whole document. A value the caller does not read is skipped (and
// checked for syntax) automatically.
//
// # Notes
//
// Callers must not break out of an Object or Array loop early.
type Reader struct {
	Decoder
	src   string
	pos   int
	depth int
	// skipping counts the Skip calls in progress: inside a skipped value, objects are checked
	// for syntax only. A duplicate key there would otherwise be reported with the path of the
	// object being decoded, naming a field that does not exist.
	skipping int
	syntax   *SyntaxError
	keys     []string // keys of the open objects, for duplicate detection
	strs     []string // scratch for Strings
	// slab backs the lists Strings returns; slabSize is the size of the last one made.
	slab     []string
	slabSize int
}

// NewReader returns a Reader over data.
func NewReader(data []byte) *Reader {
	return &Reader{src: string(data)}
}

// Finish checks that nothing but white space follows the document and returns the first syntax
// error, else the collected field errors (*Errors), else nil.
func (r *Reader) Finish() error {
	if r.syntax == nil {
		r.skipSpace()
		if r.pos != len(r.src) {
			r.fail("unexpected data after the top-level value")
		}
	}
	if r.syntax != nil {
		return r.syntax
	}
	return r.Decoder.Err()
}

// Stopped reports whether a syntax error ended decoding.
func (r *Reader) Stopped() bool { return r.syntax != nil }

func (r *Reader) fail(format string, args ...any) {
	if r.syntax == nil {
		r.syntax = &SyntaxError{Offset: r.pos, Msg: fmt.Sprintf(format, args...)}
	}
}

// The byte loops below work on local copies of src and pos: compiled to Wasm, a loop through
// r.pos loads and stores linear memory on every byte (a plain scan ran 3x slower that way;
// snapshot decoding, which does much more per byte, gained ~5%).

func (r *Reader) skipSpace() {
	src, pos := r.src, r.pos
	for pos < len(src) {
		switch src[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
			continue
		}
		break
	}
	r.pos = pos
}

// Peek returns the kind of the next value without consuming it.
func (r *Reader) Peek() Kind {
	if r.syntax != nil {
		return Invalid
	}
	r.skipSpace()
	if r.pos >= len(r.src) {
		r.fail("unexpected end of input")
		return Invalid
	}
	switch c := r.src[r.pos]; {
	case c == '{':
		return Object
	case c == '[':
		return Array
	case c == '"':
		return String
	case c == 't' || c == 'f':
		return Bool
	case c == 'n':
		return Null
	case c == '-' || (c >= '0' && c <= '9'):
		return Number
	default:
		r.fail("unexpected character %q", c)
		return Invalid
	}
}

// expect records a type error and skips the value unless the next value is of kind want.
func (r *Reader) expect(path, field string, want Kind, what string) bool {
	k := r.Peek()
	if k == want {
		return true
	}
	if k != Invalid {
		r.FieldErrorf(path, field, "must be %s, not %s", what, k)
		r.Skip()
	}
	return false
}

// Object iterates over the members of the object at path, yielding each key. A repeated key is
// a field error. A non-object is a field error and yields nothing.
func (r *Reader) Object(path string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !r.expect(path, "", Object, "an object") {
			return
		}
		if r.depth++; r.depth > MaxDepth {
			r.fail("nesting deeper than %d levels", MaxDepth)
			return
		}
		r.pos++ // '{'
		base := len(r.keys)
		var seen map[string]struct{} // used instead of the key list for large objects
		defer func() { r.keys, r.depth = r.keys[:base], r.depth-1 }()
		r.skipSpace()
		if r.pos < len(r.src) && r.src[r.pos] == '}' {
			r.pos++
			return
		}
		for {
			r.skipSpace()
			if r.pos >= len(r.src) || r.src[r.pos] != '"' {
				r.fail("expected a string key")
				return
			}
			key, ok := r.readString()
			if !ok {
				return
			}
			r.skipSpace()
			if r.pos >= len(r.src) || r.src[r.pos] != ':' {
				r.fail("expected ':' after object key")
				return
			}
			r.pos++
			if r.skipping == 0 && r.duplicate(key, base, &seen) {
				r.FieldErrorf(path, key, "duplicate field")
			}
			r.skipSpace()
			start := r.pos
			if !r.next(yield(key), start, '}', "object") {
				return
			}
		}
	}
}

// duplicate records key for the object whose keys start at base and reports whether it was seen.
// Small objects use a linear scan; past 32 keys a map keeps hostile input from costing O(n²).
func (r *Reader) duplicate(key string, base int, seen *map[string]struct{}) bool {
	if *seen != nil {
		if _, dup := (*seen)[key]; dup {
			return true
		}
		(*seen)[key] = struct{}{}
		return false
	}
	for _, k := range r.keys[base:] {
		if k == key {
			return true
		}
	}
	r.keys = append(r.keys, key)
	if len(r.keys)-base > 32 {
		*seen = make(map[string]struct{}, 64)
		for _, k := range r.keys[base:] {
			(*seen)[k] = struct{}{}
		}
	}
	return false
}

// Array iterates over the array in path.field, yielding each index. A non-array is a field error
// and yields nothing.
func (r *Reader) Array(path, field string) iter.Seq[int] {
	return func(yield func(int) bool) {
		if !r.expect(path, field, Array, "an array") {
			return
		}
		if r.depth++; r.depth > MaxDepth {
			r.fail("nesting deeper than %d levels", MaxDepth)
			return
		}
		defer func() { r.depth-- }()
		r.pos++ // '['
		r.skipSpace()
		if r.pos < len(r.src) && r.src[r.pos] == ']' {
			r.pos++
			return
		}
		for i := 0; ; i++ {
			r.skipSpace()
			start := r.pos
			if !r.next(yield(i), start, ']', "array") {
				return
			}
		}
	}
}

// next finishes one member of an object or element of an array after the caller's loop body
// ran (yielded is what yield returned, start where the value began): it skips the value if the
// body did not read it, then consumes ',' or the closing bracket. It reports whether another
// member or element follows.
func (r *Reader) next(yielded bool, start int, closing byte, in string) bool {
	if !yielded {
		r.fail("internal error: %s loop ended early", in)
		return false
	}
	if r.syntax == nil && r.pos == start {
		r.Skip()
	}
	if r.syntax != nil {
		return false
	}
	r.skipSpace()
	if r.pos >= len(r.src) {
		r.fail("unexpected end of input in %s", in)
		return false
	}
	switch r.src[r.pos] {
	case ',':
		r.pos++
		return true
	case closing:
		r.pos++
		return false
	}
	r.fail("expected ',' or '%c' in %s", closing, in)
	return false
}

// Skip consumes the next value, checking its syntax only: a value nobody decodes cannot be
// ambiguous, so duplicate keys in it are not errors.
func (r *Reader) Skip() {
	r.skipping++
	defer func() { r.skipping-- }()
	switch r.Peek() {
	case Object:
		for range r.Object("") {
		}
	case Array:
		for range r.Array("", "") {
		}
	case String:
		r.readString()
	case Number:
		r.readNumber()
	case Bool:
		if !r.literal("true") && !r.literal("false") {
			r.fail("invalid literal")
		}
	case Null:
		if !r.literal("null") {
			r.fail("invalid literal")
		}
	}
}

func (r *Reader) literal(word string) bool {
	if len(r.src)-r.pos >= len(word) && r.src[r.pos:r.pos+len(word)] == word {
		r.pos += len(word)
		return true
	}
	return false
}

// readNumber consumes a number and returns its literal text.
func (r *Reader) readNumber() (string, bool) {
	start := r.pos
	if r.src[r.pos] == '-' {
		r.pos++
	}
	switch {
	case r.pos >= len(r.src):
		r.fail("invalid number")
		return "", false
	case r.src[r.pos] == '0':
		r.pos++
	case r.src[r.pos] >= '1' && r.src[r.pos] <= '9':
		r.digits()
	default:
		r.fail("invalid number")
		return "", false
	}
	if r.pos < len(r.src) && r.src[r.pos] == '.' {
		r.pos++
		if r.digits() == 0 {
			r.fail("invalid number: digits expected after '.'")
			return "", false
		}
	}
	if r.pos < len(r.src) && (r.src[r.pos] == 'e' || r.src[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.src) && (r.src[r.pos] == '+' || r.src[r.pos] == '-') {
			r.pos++
		}
		if r.digits() == 0 {
			r.fail("invalid number: digits expected in exponent")
			return "", false
		}
	}
	return r.src[start:r.pos], true
}

func (r *Reader) digits() int {
	src, pos := r.src, r.pos
	for pos < len(src) && src[pos] >= '0' && src[pos] <= '9' {
		pos++
	}
	n := pos - r.pos
	r.pos = pos
	return n
}

// readString consumes a quoted string. Without escapes the result is a substring of the input.
func (r *Reader) readString() (string, bool) {
	src := r.src
	start := r.pos + 1 // after the opening quote
	pos := start
	ascii := true // validate UTF-8 in a second pass only if needed: snapshots are mostly ASCII
	for pos < len(src) {
		c := src[pos]
		switch {
		case c == '"':
			s := src[start:pos]
			if !ascii && !utf8.ValidString(s) {
				r.pos = start
				r.fail("string is not valid UTF-8")
				return "", false
			}
			r.pos = pos + 1
			return s, true
		case c == '\\':
			r.pos = pos
			return r.readEscaped(start)
		case c < 0x20:
			r.pos = pos
			r.fail("control character in string")
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		pos++
	}
	r.pos = pos
	r.fail("unterminated string")
	return "", false
}

func (r *Reader) readEscaped(start int) (string, bool) {
	buf := []byte(r.src[start:r.pos])
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		switch {
		case c == '"':
			r.pos++
			if !utf8.Valid(buf) {
				r.pos = start
				r.fail("string is not valid UTF-8")
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			r.fail("control character in string")
			return "", false
		case c != '\\':
			buf = append(buf, c)
			r.pos++
			continue
		}
		r.pos++ // backslash
		if r.pos >= len(r.src) {
			break
		}
		e := r.src[r.pos]
		r.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			rn, ok := r.unicodeEscape()
			if !ok {
				return "", false
			}
			buf = utf8.AppendRune(buf, rn)
		default:
			r.fail("invalid escape '\\%c'", e)
			return "", false
		}
	}
	r.fail("unterminated string")
	return "", false
}

// unicodeEscape reads the XXXX of \uXXXX, joining surrogate pairs. A lone surrogate is an error
// rather than a silent U+FFFD.
func (r *Reader) unicodeEscape() (rune, bool) {
	rn, ok := r.hex4()
	if !ok || !utf16.IsSurrogate(rn) {
		return rn, ok
	}
	if len(r.src)-r.pos < 6 || r.src[r.pos] != '\\' || r.src[r.pos+1] != 'u' {
		r.fail("unpaired surrogate in \\u escape")
		return 0, false
	}
	r.pos += 2
	rn2, ok := r.hex4()
	if !ok {
		return 0, false
	}
	joined := utf16.DecodeRune(rn, rn2)
	if joined == utf8.RuneError {
		r.fail("invalid surrogate pair in \\u escape")
		return 0, false
	}
	return joined, true
}

func (r *Reader) hex4() (rune, bool) {
	if len(r.src)-r.pos < 4 {
		r.fail("short \\u escape")
		return 0, false
	}
	var n rune
	for i := 0; i < 4; i++ {
		d, ok := unhex(r.src[r.pos+i])
		if !ok {
			r.fail("invalid \\u escape")
			return 0, false
		}
		n = n<<4 | rune(d)
	}
	r.pos += 4
	return n, true
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
