package v8host_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/v8host"
)

// importing returns a minimal Wasm module that imports one function `() -> ()`.
func importing(module, name string) []byte {
	vec := func(b []byte) []byte { return append([]byte{byte(len(b))}, b...) }
	imp := append(append(vec([]byte(module)), vec([]byte(name))...), 0x00, 0x00) // func, type 0
	types := []byte{0x01, 0x60, 0x00, 0x00}
	imports := append([]byte{0x01}, imp...)
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	out = append(append(out, 0x01), vec(types)...)
	return append(append(out, 0x02), vec(imports)...)
}

// TestRefusesImports: like Envoy and the wazero host, the V8 host refuses a module that imports
// a WASI function outside Envoy's subset or a host call it does not provide, naming the import.
func TestRefusesImports(t *testing.T) {
	node, err := v8host.FindNode()
	if err != nil {
		t.Fatalf("the V8 leg cannot run: %v", err)
	}
	cases := []struct{ module, name, want string }{
		{"wasi_snapshot_preview1", "fd_readdir", "module imports wasi_snapshot_preview1.fd_readdir, which Envoy does not provide"},
		{"env", "proxy_grpc_call", "module imports env.proxy_grpc_call, which this host does not provide"},
		{"other", "f", "module imports other.f, which this host does not provide"},
	}
	for _, c := range cases {
		t.Run(c.module+"."+c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.wasm")
			if err := os.WriteFile(path, importing(c.module, c.name), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := v8host.Run(t.Context(), v8host.Config{Node: node, Module: path}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
