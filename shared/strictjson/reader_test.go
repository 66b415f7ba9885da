package strictjson

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// walk reads any document generically, returning it re-encoded as compact JSON text (object
// keys in document order), so tests can see exactly what the Reader understood.
func walk(r *Reader, b *strings.Builder) {
	switch r.Peek() {
	case Object:
		b.WriteByte('{')
		n := 0
		for k := range r.Object("") {
			if n++; n > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%q:", k)
			walk(r, b)
		}
		b.WriteByte('}')
	case Array:
		b.WriteByte('[')
		for i := range r.Array("", "") {
			if i > 0 {
				b.WriteByte(',')
			}
			walk(r, b)
		}
		b.WriteByte(']')
	case String:
		fmt.Fprintf(b, "%q", r.String("", ""))
	case Number:
		lit, _ := r.Number("", "", "a number")
		b.WriteString(lit)
	case Bool:
		fmt.Fprint(b, r.Bool("", ""))
	case Null:
		r.IsNull()
		b.WriteString("null")
	}
}

func read(data string) (string, error) {
	r := NewReader([]byte(data))
	var b strings.Builder
	walk(r, &b)
	return b.String(), r.Finish()
}

func TestReaderSyntax(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "object keeps order", in: ` {"b":1, "a":[true,null,"x"]} `, want: `{"b":1,"a":[true,null,"x"]}`},
		{name: "escapes and surrogates", in: `"a\n\"\u00e9\ud83d\ude00\/"`, want: `"a\n\"é😀/"`},
		{name: "number literal kept", in: `-12.5e+3`, want: `-12.5e+3`},
		{name: "empty containers", in: `[{},[]]`, want: `[{},[]]`},
		{name: "trailing data", in: `{} {}`, wantErr: "after the top-level value"},
		{name: "trailing comma", in: `[1,]`, wantErr: "unexpected character"},
		{name: "leading zero", in: `01`, wantErr: "after the top-level value"},
		{name: "bare minus", in: `-`, wantErr: "invalid number"},
		{name: "lone surrogate", in: `"\ud83d"`, wantErr: "unpaired surrogate"},
		{name: "bad escape", in: `"\x"`, wantErr: "invalid escape"},
		{name: "control char", in: "\"a\x01\"", wantErr: "control character"},
		{name: "invalid utf8", in: "\"\xff\"", wantErr: "UTF-8"},
		{name: "unterminated", in: `{"a":"b`, wantErr: "unterminated string"},
		{name: "empty", in: ``, wantErr: "unexpected end"},
		{name: "too deep", in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), wantErr: "nesting deeper"},
		{name: "max depth ok", in: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), want: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{name: "bad literal", in: `tru`, wantErr: "invalid literal"},
		{name: "missing colon", in: `{"a" 1}`, wantErr: "expected ':'"},
		{name: "non-string key", in: `{1:2}`, wantErr: "expected a string key"},
		{name: "syntax error inside a skipped value", in: `{"a":{"b":[1,2,}]}}`, wantErr: "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestReaderFieldErrorsNamePaths(t *testing.T) {
	r := NewReader([]byte(`{"routes":[{"limits":{"max":-1}},{"limits":{"max":1.5,"extra":{"deep":[1]}}}],"name":7,"name2":"x","t":"yesterday","list":["a",2],"dup":1,"dup":2}`))
	for k := range r.Object("") {
		switch k {
		case "routes":
			for i := range r.Array("", k) {
				rp := Index("routes", i)
				for f := range r.Object(rp) {
					lp := Join(rp, f)
					for l := range r.Object(lp) {
						switch l {
						case "max":
							r.PositiveInt(lp, l, 100)
						default:
							r.Unknown(lp, l)
						}
					}
				}
			}
		case "name":
			r.String("", k)
		case "t":
			r.Time("", k)
		case "list":
			r.Strings("", k)
		case "dup":
			r.Int("", k)
		default:
			r.Unknown("", k)
		}
	}
	want := []string{
		"routes[0].limits.max: must be positive",
		"routes[1].limits.max: must be an integer",
		"routes[1].limits.extra: unknown field",
		"name: must be a string, not number",
		"name2: unknown field",
		"t: must be an RFC 3339 timestamp",
		"list[1]: must be a string, not number",
		"dup: duplicate field",
	}
	err := r.Finish()
	errs, ok := err.(*Errors)
	if !ok {
		t.Fatalf("Finish = %v, want *Errors", err)
	}
	if len(errs.List) != len(want) {
		t.Fatalf("got %d errors %v, want %d", len(errs.List), err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs.List[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs.List[i].Error(), w)
		}
	}
}

// A hostile object with many keys must not cost O(n²) and must still catch duplicates.
func TestReaderManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 50_000; i++ {
		fmt.Fprintf(&b, `"k%d":1,`, i)
	}
	b.WriteString(`"k7":1}`)
	_, err := read(b.String())
	if err == nil || !strings.Contains(err.Error(), "k7: duplicate field") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecoderCapsErrors(t *testing.T) {
	var d Decoder
	for i := 0; i < MaxErrors+5; i++ {
		d.Errorf("x", "bad")
	}
	e := d.Err().(*Errors)
	if len(e.List) != MaxErrors || e.Dropped != 5 || !strings.HasSuffix(e.Error(), "and 5 more") {
		t.Fatalf("got %d kept, %d dropped: %v", len(e.List), e.Dropped, e)
	}
}

// FuzzReader checks the Reader against encoding/json: both agree on validity (the Reader is
// stricter on depth, UTF-8 and surrogates on purpose), and what the Reader re-encodes means the
// same as the input.
func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\u00e9"`, `-0.5e10`, `[`, `{"a":1,"a":2}`, "\"\xff\"", `1e1000`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := read(string(data))
		valid := json.Valid(data)
		var se *SyntaxError
		isSyntax := err != nil && asSyntax(err, &se)
		if !isSyntax && !valid {
			t.Fatalf("Reader accepted %q that encoding/json rejects", data)
		}
		if isSyntax && valid {
			if m := se.Msg; strings.Contains(m, "nesting") || strings.Contains(m, "UTF-8") || strings.Contains(m, "surrogate") {
				return
			}
			t.Fatalf("Reader rejected %q that encoding/json accepts: %v", data, err)
		}
		if isSyntax {
			return
		}
		var a, b any
		if json.Unmarshal(data, &a) == nil && json.Unmarshal([]byte(got), &b) == nil && fmt.Sprint(a) != fmt.Sprint(b) {
			if err == nil { // duplicate keys make encoding/json keep the last value; the Reader reports them
				t.Fatalf("%q read as %s", data, got)
			}
		}
	})
}

func asSyntax(err error, se **SyntaxError) bool {
	s, ok := err.(*SyntaxError)
	*se = s
	return ok
}

// TestStringsListsAreIndependent: lists share a slab, yet appending to one never changes
// another, and there are as many lists as the document has, however many.
func TestStringsListsAreIndependent(t *testing.T) {
	var doc strings.Builder
	doc.WriteString(`[`)
	for i := range 3000 {
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, `["a%d","b%d"]`, i, i)
	}
	doc.WriteString(`]`)
	r := NewReader([]byte(doc.String()))
	var lists [][]string
	for range r.Array("", "") {
		lists = append(lists, r.Strings("", ""))
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	for i := range lists {
		lists[i] = append(lists[i], "appended")
	}
	for i, l := range lists {
		want := []string{fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i), "appended"}
		if !slices.Equal(l, want) {
			t.Fatalf("list %d = %q, want %q", i, l, want)
		}
	}
	if len(lists) != 3000 {
		t.Fatalf("%d lists, want 3000", len(lists))
	}
}

// A skipped value (an unknown field, a value of the wrong type, one the caller does not read) is
// checked for syntax only. Its field errors would carry the path of the skipping caller's
// object, not their own: FuzzParse found `{"x":{"a":1,"a":2}}` reported as "a: duplicate field".
func TestSkippedValuesReportNoFieldErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown field", `{"x":{"a":1,"a":2}}`, "x: unknown field"},
		{"wrong type", `{"n":[{"a":1,"a":2}]}`, "n: must be an integer, not array"},
		{"not read", `{"quiet":{"a":{"b":1,"b":2}}}`, ""},
		{"syntax still checked", `{"x":{"a":1,"a"}}`, "invalid JSON at byte 15: expected ':' after object key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader([]byte(tt.doc))
			for k := range r.Object("") {
				switch k {
				case "n":
					r.Int("", k)
				case "quiet":
				default:
					r.Unknown("", k)
				}
			}
			got := ""
			if err := r.Finish(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
		})
	}
}
