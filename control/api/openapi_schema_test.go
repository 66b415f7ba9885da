package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// The schemas in openapi.json describe what the handlers read and write: every JSON field of
// the Go type, no field it lacks, and the right JSON type for each, recursively.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	var spec map[string]any
	if err := json.Unmarshal(openAPI, &spec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema string
		typ    any
		skip   []string // Go fields the API never shows in this place
	}{
		{"Key", admin.KeyView{}, nil},
		{"CreatedKey", createdKey{}, nil},
		{"Evaluation", evaluation{}, nil},
		// Keys and verifiers are managed with /v1/keys and /v1/webhooks, never in the policy document.
		{"Policy", policy.Document{}, []string{"keys", "webhooks"}},
		{"Webhook", admin.WebhookView{}, nil},
		{"WebhookShownOnce", shownOnce{}, nil},
		{"WebhookList", webhookList{}, nil},
		{"CheckReport", checkReport{}, nil},
		{"KeyImportResult", importResult{}, nil},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			c := schemaChecker{t: t, spec: spec}
			c.check(tc.schema, c.ref(tc.schema), reflect.TypeOf(tc.typ), tc.skip)
		})
	}
}

// The request bodies the API decodes by hand are documented field for field: each documented
// field is one the decoder knows, and each field of the input type is documented.
func TestOpenAPIRequestSchemas(t *testing.T) {
	var spec map[string]any
	if err := json.Unmarshal(openAPI, &spec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema string
		input  any    // the Go type the body becomes; nil when there is none
		base   string // a valid body the field is added to
		decode func([]byte) error
	}{
		{"KeyCreate", admin.NewKey{}, `"name":"x"`, func(b []byte) error { _, err := decodeNewKey(b); return err }},
		{"KeyPatch", admin.KeyPatch{}, `"name":"x"`, func(b []byte) error { _, err := decodeKeyPatch(b); return err }},
		{"WebhookCreate", admin.NewWebhook{}, `"name":"x"`, func(b []byte) error { _, err := decodeNewWebhook(b); return err }},
		{"WebhookPatch", admin.WebhookPatch{}, `"url":"x"`, func(b []byte) error { _, err := decodeWebhookPatch(b); return err }},
		{"KeyImportLine", nil, `"name":"x"`, func(b []byte) error { _, err := decodeImportLine(b); return err }},
		{"EvaluateRequest", nil, `"method":"GET","path":"/"`, func(b []byte) error { _, err := decodeEvaluate(b); return err }},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			c := schemaChecker{t: t, spec: spec}
			props := c.ref(tc.schema)["properties"].(map[string]any)
			for name, p := range props {
				body := `{` + tc.base + `,"` + name + `":` + sample(p.(map[string]any)) + `}`
				if strings.HasPrefix(tc.base, `"`+name+`"`) {
					body = `{` + tc.base + `}`
				}
				if err := tc.decode([]byte(body)); unknownField(err, name) {
					t.Errorf("%s documents %q, which the decoder refuses as unknown", tc.schema, name)
				}
			}
			if tc.input == nil {
				return
			}
			var fields []string
			for f := range reflect.TypeOf(tc.input).Fields() {
				fields = append(fields, snake(f.Name))
			}
			if got := sortedKeys(props); !slices.Equal(got, sorted(fields)) {
				t.Errorf("%s documents %v; %T has %v", tc.schema, got, tc.input, sorted(fields))
			}
		})
	}
}

type schemaChecker struct {
	t    *testing.T
	spec map[string]any
}

// ref returns the component schema of that name.
func (c schemaChecker) ref(name string) map[string]any {
	s, ok := c.spec["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	if !ok {
		c.t.Fatalf("no schema %s", name)
	}
	return s
}

// resolve follows $ref and merges allOf into one object schema.
func (c schemaChecker) resolve(s map[string]any) map[string]any {
	if r, ok := s["$ref"].(string); ok {
		return c.resolve(c.ref(strings.TrimPrefix(r, "#/components/schemas/")))
	}
	all, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	merged := map[string]any{"type": "object", "properties": map[string]any{}}
	for _, part := range all {
		for k, v := range c.resolve(part.(map[string]any))["properties"].(map[string]any) {
			merged["properties"].(map[string]any)[k] = v
		}
	}
	return merged
}

var timeType = reflect.TypeFor[time.Time]()

func (c schemaChecker) check(path string, s map[string]any, typ reflect.Type, skip []string) {
	c.t.Helper()
	s = c.resolve(s)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == reflect.TypeFor[json.RawMessage]():
		return // a JSON value of its own shape (the denial body)
	case typ == timeType:
		c.wantType(path, s, "string")
		if s["format"] != "date-time" {
			c.t.Errorf("%s: a time without format date-time", path)
		}
	case typ.Kind() == reflect.Struct:
		c.wantType(path, s, "object")
		props, _ := s["properties"].(map[string]any)
		fields := jsonFields(typ)
		var names []string
		for name := range fields {
			if !slices.Contains(skip, name) {
				names = append(names, name)
			}
		}
		if got := sortedKeys(props); !slices.Equal(got, sorted(names)) {
			c.t.Errorf("%s: documented properties %v; the Go type has %v", path, got, sorted(names))
		}
		for name, ft := range fields {
			if p, ok := props[name].(map[string]any); ok {
				c.check(path+"."+name, p, ft, nil)
			}
		}
	case typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array:
		c.wantType(path, s, "array")
		if items, ok := s["items"].(map[string]any); ok {
			c.check(path+"[]", items, typ.Elem(), nil)
		} else {
			c.t.Errorf("%s: an array without items", path)
		}
	case typ.Kind() == reflect.Bool:
		c.wantType(path, s, "boolean")
	case typ.Kind() == reflect.String:
		c.wantType(path, s, "string")
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		c.wantType(path, s, "integer")
	default:
		c.t.Errorf("%s: no rule for Go type %v", path, typ)
	}
}

// wantType checks the schema's type, which may list "null" besides.
func (c schemaChecker) wantType(path string, s map[string]any, want string) {
	c.t.Helper()
	switch v := s["type"].(type) {
	case string:
		if v == want {
			return
		}
	case []any:
		if slices.Contains(v, any(want)) {
			return
		}
	}
	c.t.Errorf("%s: schema type %v, the Go type is a JSON %s", path, s["type"], want)
}

// jsonFields are a struct's JSON field names and types, embedded structs flattened.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
	return out
}

// sample is a valid JSON value of a property's schema, so only an unknown name is refused.
func sample(p map[string]any) string {
	t := p["type"]
	if l, ok := t.([]any); ok {
		t = l[0]
	}
	switch t {
	case "boolean":
		return "true"
	case "array":
		return "[]"
	case "object":
		return "{}"
	case "integer":
		return "1"
	}
	if p["format"] == "date-time" {
		return `"2099-01-01T00:00:00Z"`
	}
	return `"x"`
}

func unknownField(err error, name string) bool {
	var fe *strictjson.Errors
	if !errors.As(err, &fe) {
		return false
	}
	for _, e := range fe.List {
		if e.Path == name && strings.Contains(e.Msg, "unknown") {
			return true
		}
	}
	return false
}

// snake turns a Go field name into the API's field name: AllowedPaths → allowed_paths.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// An initialism (URL, ID) is one word.
			if i > 0 && !unicode.IsUpper(rs[i-1]) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
