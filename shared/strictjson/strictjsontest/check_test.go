package strictjsontest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/portcullis/portcullis/shared/strictjson"
)

func fieldErrors(list ...strictjson.FieldError) error { return &strictjson.Errors{List: list} }

// The checker must fail on every way an error can lose its place, or the fuzz targets that use
// it could not fail.
func TestCheckError(t *testing.T) {
	doc := `{"routes":[{"name":"r","a.b":{"x":1}},{"name":"s"}],"version":1,"version":2}`
	tests := []struct {
		name string
		data string
		err  error
		ok   bool
	}{
		{"syntax error inside", doc, &strictjson.SyntaxError{Offset: 3, Msg: "bad"}, true},
		{"syntax error at the end", doc, &strictjson.SyntaxError{Offset: len(doc), Msg: "bad"}, true},
		{"wrapped", doc, fmt.Errorf("snapshot: %w", fieldErrors(strictjson.FieldError{Path: "routes[1].name", Msg: "m"})), true},
		{"nested field", doc, fieldErrors(strictjson.FieldError{Path: "routes[0].a.b.x", Msg: "m"}), true},
		{"missing required field", doc, fieldErrors(strictjson.FieldError{Path: "routes[1].auth", Msg: "required"}), true},
		{"repeated key", doc, fieldErrors(strictjson.FieldError{Path: "version", Msg: "duplicate field"}), true},
		{"root of a non-object", `[1]`, fieldErrors(strictjson.FieldError{Msg: "must be an object"}), true},

		{"syntax error past the end", doc, &strictjson.SyntaxError{Offset: len(doc) + 1, Msg: "bad"}, false},
		{"plain error", doc, errors.New("no path"), false},
		{"empty list", doc, fieldErrors(), false},
		{"index out of range", doc, fieldErrors(strictjson.FieldError{Path: "routes[2].name", Msg: "m"}), false},
		{"index not canonical", doc, fieldErrors(strictjson.FieldError{Path: "routes[01].name", Msg: "m"}), false},
		{"index on an object", doc, fieldErrors(strictjson.FieldError{Path: "routes[0][0]", Msg: "m"}), false},
		{"field of a scalar", doc, fieldErrors(strictjson.FieldError{Path: "routes[0].name.x", Msg: "m"}), false},
		{"missing field of the root", doc, fieldErrors(strictjson.FieldError{Path: "policy", Msg: "required"}), true},
		{"path of a nested value reported at the root", doc, fieldErrors(strictjson.FieldError{Path: "a.b.x", Msg: "m"}), false},
		{"no path in an object", doc, fieldErrors(strictjson.FieldError{Msg: "m"}), false},
		{"no message", doc, fieldErrors(strictjson.FieldError{Path: "version"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckError([]byte(tt.data), tt.err)
			if (got == nil) != tt.ok {
				t.Fatalf("CheckError = %v, want ok=%v", got, tt.ok)
			}
		})
	}
}
