// Package strictjsontest checks the error contract of decoders built on strictjson, for the fuzz
// targets of every package that decodes untrusted JSON with it (policy, snapshot, the plugin
// configuration). It is a normal package so that tests outside shared/ can import it; like the
// rest of shared/ it uses the standard library only.
package strictjsontest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// CheckError reports how err, returned for data by a strictjson-based decoder, breaks the
// contract that every error locates its problem, or returns nil. The contract: err wraps a
// *strictjson.SyntaxError whose offset lies within data, or a *strictjson.Errors of 1 to
// strictjson.MaxErrors entries, each with a message and a path that names a place in data. A
// path names a place when it resolves in the document, or when everything but a last field name
// does (a required field that is missing). The empty path, the document itself, is reserved for
// a document that is not an object (or a member named "", which the path syntax cannot tell from
// the document).
func CheckError(data []byte, err error) error {
	var se *strictjson.SyntaxError
	if errors.As(err, &se) {
		if se.Offset < 0 || se.Offset > len(data) || se.Msg == "" {
			return fmt.Errorf("syntax error %q has offset %d outside [0, %d] or no message", se.Msg, se.Offset, len(data))
		}
		return nil
	}
	var fe *strictjson.Errors
	if !errors.As(err, &fe) {
		return fmt.Errorf("error %q carries no JSON path (neither *strictjson.SyntaxError nor *strictjson.Errors)", err)
	}
	if len(fe.List) == 0 || len(fe.List) > strictjson.MaxErrors || fe.Dropped < 0 {
		return fmt.Errorf("error list has %d entries (%d dropped)", len(fe.List), fe.Dropped)
	}
	root, perr := parseTree(data)
	if perr != nil {
		return fmt.Errorf("decoder reported field errors for a document encoding/json cannot read (%v): %w", perr, err)
	}
	for _, e := range fe.List {
		switch {
		case e.Msg == "":
			return fmt.Errorf("error at %q has no message", e.Path)
		case e.Path == "":
			if o, isObject := root.(object); isObject && !o.has("") {
				return fmt.Errorf("error %q has no path although the document is an object", e.Msg)
			}
		case !resolves(root, e.Path):
			return fmt.Errorf("error path %q (%s) names no place in the document", e.Path, e.Msg)
		}
	}
	return nil
}

// object keeps every member in order, duplicates included: a decoder reports errors inside each
// occurrence of a repeated key, and encoding/json's maps would keep only the last.
type object []member

func (o object) has(key string) bool {
	for _, m := range o {
		if m.key == key {
			return true
		}
	}
	return false
}

type member struct {
	key   string
	value any
}

// parseTree reads data into object, []any and scalars with encoding/json's tokenizer.
func parseTree(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := parseValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

func parseValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var o object
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := parseValue(d)
			if err != nil {
				return nil, err
			}
			o = append(o, member{k.(string), v})
		}
		_, err := d.Token() // '}'
		return o, err
	case json.Delim('['):
		var a []any
		for d.More() {
			v, err := parseValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token() // ']'
		return a, err
	}
	return tok, nil
}

// resolves reports whether path ("routes[2].match.hosts[0]") names a place in v. Object keys
// may themselves hold '.' or '[' (an unknown field named "a.b"), so every key that is a prefix
// of the rest of the path is tried.
func resolves(v any, path string) bool {
	return resolveKey(v, path) || strings.HasPrefix(path, "[") && resolveRest(v, path)
}

// resolveKey resolves a path that starts with a field name of the object v.
func resolveKey(v any, path string) bool {
	o, ok := v.(object)
	if !ok {
		return false
	}
	for _, m := range o {
		if strings.HasPrefix(path, m.key) && resolveRest(m.value, path[len(m.key):]) {
			return true
		}
	}
	return isFieldName(path) // a missing field, named by itself
}

// resolveRest resolves what follows a value's own name: nothing, ".field…" or "[i]…".
func resolveRest(v any, rest string) bool {
	switch {
	case rest == "":
		return true
	case rest[0] == '.':
		return resolveKey(v, rest[1:])
	case rest[0] == '[':
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return false
		}
		i, err := strconv.Atoi(rest[1:end])
		a, ok := v.([]any)
		if err != nil || !ok || i < 0 || i >= len(a) || strconv.Itoa(i) != rest[1:end] {
			return false
		}
		return resolveRest(a[i], rest[end+1:])
	}
	return false
}

// isFieldName accepts the names decoders use for required fields: lower-case letters, digits and '_'.
func isFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
