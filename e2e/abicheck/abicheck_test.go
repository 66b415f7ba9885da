package abicheck

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

var wasmPath = flag.String("wasm", "../../build/portcullis.wasm", "the module to check (relative to this package)")

// loadModule reads the compiled filter. A missing module fails the test: a check that skips
// when there is nothing to check passes on a fresh clone and proves nothing.
func loadModule(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(*wasmPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s is missing: run make build", *wasmPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestModuleABI checks the production module's imports and exports against what Envoy >= 1.33
// provides and calls.
func TestModuleABI(t *testing.T) {
	imports, exports, err := Read(context.Background(), loadModule(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Check(imports, exports) {
		t.Error(p)
	}
	var names []string
	for _, im := range imports {
		names = append(names, im.String())
	}
	slices.Sort(names)
	names = slices.Compact(names)
	t.Logf("imports: %s", strings.Join(names, " "))
}

// TestReportModuleSize logs the module's size for the record (a benchmark figure, not a limit).
func TestReportModuleSize(t *testing.T) {
	data := loadModule(t)
	imports, exports, err := Read(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes (%.2f MiB), %d imports, %d function and memory exports",
		*wasmPath, len(data), float64(len(data))/(1<<20), len(imports), len(exports))
}

// goodImports and goodExports describe a module that fits: every case below changes one thing.
func goodImports() []Import {
	return []Import{
		{Module: "wasi_snapshot_preview1", Name: "fd_write", Kind: KindFunc},
		{Module: "wasi_snapshot_preview1", Name: "random_get", Kind: KindFunc},
		{Module: "env", Name: "proxy_log", Kind: KindFunc},
		{Module: "env", Name: "proxy_get_header_map_pairs", Kind: KindFunc},
	}
}

func goodExports() []Export {
	exports := []Export{
		{Name: "memory", Kind: KindMemory},
		{Name: "proxy_abi_version_0_2_1", Kind: KindFunc, Sig: "() -> ()"},
	}
	for _, e := range required {
		e.Kind = KindFunc
		exports = append(exports, e)
	}
	return exports
}

func TestCheck(t *testing.T) {
	withImport := func(im Import) func([]Import, []Export) ([]Import, []Export) {
		return func(ims []Import, exs []Export) ([]Import, []Export) { return append(ims, im), exs }
	}
	withoutExport := func(name string) func([]Import, []Export) ([]Import, []Export) {
		return func(ims []Import, exs []Export) ([]Import, []Export) {
			return ims, slices.DeleteFunc(exs, func(e Export) bool { return e.Name == name })
		}
	}
	withExport := func(e Export) func([]Import, []Export) ([]Import, []Export) {
		return func(ims []Import, exs []Export) ([]Import, []Export) {
			exs = slices.DeleteFunc(exs, func(x Export) bool { return x.Name == e.Name })
			return ims, append(exs, e)
		}
	}
	tests := []struct {
		name   string
		mutate func([]Import, []Export) ([]Import, []Export)
		want   []string // each must appear in exactly one problem; no other problems
	}{
		{name: "fits", mutate: nil, want: nil},
		{
			name:   "WASI function Envoy lacks",
			mutate: withImport(Import{Module: "wasi_snapshot_preview1", Name: "sock_accept", Kind: KindFunc}),
			want:   []string{"import wasi_snapshot_preview1.sock_accept: Envoy >= 1.33 does not provide this WASI function"},
		},
		{
			name:   "import from another module",
			mutate: withImport(Import{Module: "gojs", Name: "runtime.ticks", Kind: KindFunc}),
			want:   []string{"import gojs.runtime.ticks: Envoy provides only env.proxy_*"},
		},
		{
			name:   "env import that is not a proxy-wasm call",
			mutate: withImport(Import{Module: "env", Name: "abort", Kind: KindFunc}),
			want:   []string{"import env.abort: Envoy provides only env.proxy_*"},
		},
		{
			name:   "imported memory",
			mutate: withImport(Import{Module: "env", Name: "memory", Kind: KindMemory}),
			want:   []string{"import env.memory: a memory import"},
		},
		{
			name:   "imported global",
			mutate: withImport(Import{Module: "env", Name: "proxy_g", Kind: KindGlobal}),
			want:   []string{"import env.proxy_g: a global import"},
		},
		{name: "missing callback", mutate: withoutExport("proxy_on_request_body"), want: []string{"missing export proxy_on_request_body"}},
		{name: "missing _initialize", mutate: withoutExport("_initialize"), want: []string{"missing export _initialize"}},
		{name: "missing memory", mutate: withoutExport("memory"), want: []string{"missing export memory"}},
		{name: "missing ABI version", mutate: withoutExport("proxy_abi_version_0_2_1"), want: []string{"missing export proxy_abi_version_0_2_*"}},
		{
			name:   "ABI 0.1",
			mutate: withExport(Export{Name: "proxy_abi_version_0_1_0", Kind: KindFunc, Sig: "() -> ()"}),
			want:   []string{"2 proxy-wasm ABI version exports"},
		},
		{
			name: "only ABI 0.1",
			mutate: func(ims []Import, exs []Export) ([]Import, []Export) {
				_, exs = withoutExport("proxy_abi_version_0_2_1")(ims, exs)
				return withExport(Export{Name: "proxy_abi_version_0_1_0", Kind: KindFunc, Sig: "() -> ()"})(ims, exs)
			},
			want: []string{"export proxy_abi_version_0_1_0: want ABI 0.2"},
		},
		{
			name:   "callback with another signature",
			mutate: withExport(Export{Name: "proxy_on_request_headers", Kind: KindFunc, Sig: "(i32, i32) -> (i32)"}),
			want:   []string{"export proxy_on_request_headers: signature (i32, i32) -> (i32), want (i32, i32, i32) -> (i32)"},
		},
		{
			name:   "memory exported as a function",
			mutate: withExport(Export{Name: "memory", Kind: KindFunc, Sig: "() -> ()"}),
			want:   []string{"export memory: is a func, want a memory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ims, exs := goodImports(), goodExports()
			if tt.mutate != nil {
				ims, exs = tt.mutate(ims, exs)
			}
			problems := Check(ims, exs)
			if len(problems) != len(tt.want) {
				t.Errorf("problems = %q, want %d", problems, len(tt.want))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem names %q; got %q", w, problems)
				}
			}
		})
	}
}

// TestRead compiles a hand-assembled module whose imports Check must reject, including the
// table and global imports that wazero does not list and the section reader finds.
func TestRead(t *testing.T) {
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	section := func(id byte, body ...[]byte) []byte {
		b := slices.Concat(body...)
		return append([]byte{id, byte(len(b))}, b...)
	}
	mod := slices.Concat(
		[]byte("\x00asm\x01\x00\x00\x00"),
		section(0, str("note"), []byte("custom sections may come first")),
		section(1, []byte{1, 0x60, 0, 0}), // one type: () -> ()
		section(2, []byte{5},
			str("wasi_snapshot_preview1"), str("sock_accept"), []byte{0x00, 0}, // func, type 0
			str("env"), str("proxy_log"), []byte{0x00, 0},
			str("env"), str("memory"), []byte{0x02, 0x00, 1}, // memory, min 1
			str("env"), str("tbl"), []byte{0x01, 0x70, 0x01, 0, 4}, // funcref table, min 0 max 4
			str("env"), str("g"), []byte{0x03, 0x7f, 0x00}, // const i32 global
		),
	)
	imports, exports, err := Read(context.Background(), mod)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range imports {
		got = append(got, im.String()+":"+string(im.Kind))
	}
	want := []string{"wasi_snapshot_preview1.sock_accept:func", "env.proxy_log:func", "env.memory:memory", "env.tbl:table", "env.g:global"}
	if !slices.Equal(got, want) {
		t.Fatalf("imports = %v, want %v", got, want)
	}
	problems := strings.Join(Check(imports, exports), "\n")
	for _, w := range []string{"wasi_snapshot_preview1.sock_accept", "env.memory: a memory import", "env.tbl: a table import", "env.g: a global import", "missing export _initialize"} {
		if !strings.Contains(problems, w) {
			t.Errorf("problems do not name %q:\n%s", w, problems)
		}
	}
	if strings.Contains(problems, "env.proxy_log") {
		t.Errorf("env.proxy_log reported:\n%s", problems)
	}

	if _, _, err := Read(context.Background(), mod[:len(mod)-3]); err == nil {
		t.Error("Read accepted a truncated module")
	}
}
