package wasmhost_test

import (
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestHeaderMaps(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	r := headers(t, h, request("headers",
		[2]string{"X-Dup", "a"}, [2]string{"x-other", "o"}, [2]string{"x-dup", "b"},
		[2]string{"x-replace", "old1"}, [2]string{"x-replace", "old2"}, [2]string{"x-remove", "gone"}))
	if r.Action != wasmhost.Continue || !r.EndOfStream {
		t.Fatalf("result = %+v, want the request continued to its end", r)
	}
	tests := []struct {
		name, header string
		want         []string
	}{
		{"get_header_map_value returns the first value", "x-first", []string{"a"}},
		{"get_header_map_pairs keeps every value in order", "x-all", []string{"a|b"}},
		{"pseudo-headers are readable", "x-path", []string{"/"}},
		{"a missing header is NotFound", "x-missing-status", []string{"not_found"}},
		{"added names are lower-cased", "x-added", []string{"1"}},
		{"replace leaves exactly one value", "x-replace", []string{"new"}},
		{"remove drops every value", "x-remove", nil},
		{"incoming names are lower-cased", "x-dup", []string{"a", "b"}},
		{"untouched headers stay", "x-other", []string{"o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := values(r.Headers, tt.header)
			if len(got) != len(tt.want) {
				t.Fatalf("%s = %q, want %q", tt.header, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("%s = %q, want %q", tt.header, got, tt.want)
				}
			}
		})
	}
	for i, kv := range r.Headers[:4] {
		if kv[0][0] != ':' {
			t.Errorf("header %d is %q: pseudo-headers must come first", i, kv[0])
		}
	}
}
