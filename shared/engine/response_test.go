package engine_test

import (
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
)

func TestApplyResponseEdits(t *testing.T) {
	add := func(n, v string) engine.HeaderEdit { return engine.HeaderEdit{Mode: engine.EditAdd, Name: n, Value: v} }
	set := func(n, v string) engine.HeaderEdit { return engine.HeaderEdit{Mode: engine.EditSet, Name: n, Value: v} }
	vary := engine.HeaderEdit{Mode: engine.EditVary, Name: "vary", Value: "Origin"}
	remove := engine.HeaderEdit{Mode: engine.EditRemove, Name: "server"}
	tests := []struct {
		name  string
		in    [][2]string
		edits []engine.HeaderEdit
		want  [][2]string
	}{
		{"add when absent", nil, []engine.HeaderEdit{add("x-frame-options", "DENY")}, [][2]string{{"x-frame-options", "DENY"}}},
		{"add keeps the upstream's", [][2]string{{"X-Frame-Options", "SAMEORIGIN"}}, []engine.HeaderEdit{add("x-frame-options", "DENY")}, [][2]string{{"X-Frame-Options", "SAMEORIGIN"}}},
		{"set replaces every value", [][2]string{{"a", "1"}, {"x-frame-options", "A"}, {"x-frame-options", "B"}}, []engine.HeaderEdit{set("x-frame-options", "DENY")},
			[][2]string{{"a", "1"}, {"x-frame-options", "DENY"}}},
		{"remove every value", [][2]string{{"server", "a"}, {"b", "1"}, {"Server", "c"}}, []engine.HeaderEdit{remove}, [][2]string{{"b", "1"}}},
		{"remove absent is a no-op", [][2]string{{"b", "1"}}, []engine.HeaderEdit{remove}, [][2]string{{"b", "1"}}},
		{"vary added", nil, []engine.HeaderEdit{vary}, [][2]string{{"vary", "Origin"}}},
		{"vary appended", [][2]string{{"vary", "Accept-Encoding"}}, []engine.HeaderEdit{vary}, [][2]string{{"vary", "Accept-Encoding, Origin"}}},
		{"vary already there", [][2]string{{"vary", "accept-encoding, origin"}}, []engine.HeaderEdit{vary}, [][2]string{{"vary", "accept-encoding, origin"}}},
		{"vary star stays", [][2]string{{"vary", "*"}}, []engine.HeaderEdit{vary}, [][2]string{{"vary", "*"}}},
		{"vary empty value", [][2]string{{"vary", " "}}, []engine.HeaderEdit{vary}, [][2]string{{"vary", "Origin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([][2]string(nil), tt.in...)
			got := engine.ApplyResponseEdits(in, tt.edits)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.in) && tt.in != nil {
				t.Fatalf("input modified: %q", in)
			}
		})
	}
}
