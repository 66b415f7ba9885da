package strictjson

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxErrors is how many field errors a Decoder keeps; later ones are counted, not stored, so a
// hostile document cannot make error reporting expensive.
const MaxErrors = 20

// FieldError is one problem with one field. Path is empty for the document root.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem a Decoder found, in document order.
type Errors struct {
	List    []FieldError
	Dropped int // errors found beyond MaxErrors
}

func (e *Errors) Error() string {
	var b strings.Builder
	for i, fe := range e.List {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	if e.Dropped > 0 {
		fmt.Fprintf(&b, "; and %d more", e.Dropped)
	}
	return b.String()
}

// Decoder collects path-qualified errors instead of stopping at the first, so an operator sees
// every problem of a document at once. Reader embeds it; validation code that runs after
// decoding uses it directly.
//
// Methods take the path of the containing object and the field name separately and join them
// only when they report an error, so decoding a valid document builds no path strings.
type Decoder struct {
	errs Errors
	skip func(path string) bool // set by Check: errors an earlier one covers are not recorded
}

// Err returns the collected errors as *Errors, or nil.
func (d *Decoder) Err() error {
	if len(d.errs.List) == 0 {
		return nil
	}
	e := d.errs
	return &e
}

// Failed reports whether any error was recorded.
func (d *Decoder) Failed() bool { return len(d.errs.List) > 0 }

// Check runs check, the validation of a value decoded by d, and records the errors it finds
// that no error already recorded covers: one at the same path, or at a path enclosing it
// ("routes[0].auth" encloses "routes[0].auth.type"; the root "" encloses every path). So the
// validation of a partly decoded document reports the problems of the values that did decode,
// and nothing is reported twice: no "required" after "must be a string", nothing inside an
// object that was not one.
//
// # Notes
//
// Only the errors d keeps (MaxErrors) cover: an error of check that only a dropped decoding
// error would have covered is counted among the dropped ones.
func (d *Decoder) Check(check func(*Decoder)) {
	if len(d.errs.List) == 0 {
		check(d) // nothing decoded badly: no copy, no lookups
		return
	}
	v := Decoder{skip: d.covers}
	check(&v)
	for _, e := range v.errs.List {
		d.Errorf(e.Path, "%s", e.Msg)
	}
	d.errs.Dropped += v.errs.Dropped
}

// covers reports whether an error recorded at path, or at a path enclosing it, exists.
func (d *Decoder) covers(path string) bool {
	for _, e := range d.errs.List {
		p := e.Path
		if p == "" || path == p ||
			len(path) > len(p) && path[:len(p)] == p && (path[len(p)] == '.' || path[len(p)] == '[') {
			return true
		}
	}
	return false
}

// Errorf records an error at path.
func (d *Decoder) Errorf(path, format string, args ...any) {
	if d.skip != nil && d.skip(path) {
		return
	}
	if len(d.errs.List) >= MaxErrors {
		d.errs.Dropped++
		return
	}
	d.errs.List = append(d.errs.List, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// FieldErrorf records an error at path.field.
func (d *Decoder) FieldErrorf(path, field, format string, args ...any) {
	d.Errorf(Join(path, field), format, args...)
}

// Join appends a field name to a path.
func Join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// Index appends an array index to a path, in one allocation (it runs once per key of a
// snapshot).
func Index(path string, i int) string {
	var digits [20]byte
	return path + "[" + string(strconv.AppendInt(digits[:0], int64(i), 10)) + "]"
}

// Unknown records an unknown field.
func (d *Decoder) Unknown(path, field string) {
	d.FieldErrorf(path, field, "unknown field")
}
