// Package abicheck checks that a compiled filter module fits the host Envoy offers: it imports
// only functions Envoy provides (the proxy-wasm `env.proxy_*` calls and the WASI subset of
// Envoy >= 1.33), and it exports the entry points and HTTP callbacks Envoy calls, with the
// proxy-wasm ABI 0.2 signatures. Envoy refuses a module that imports anything else, and fails a
// callback whose export is missing or has another signature; this finds both without Envoy.
package abicheck

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Kind is what an import or export is.
type Kind string

// The kinds of imports and exports.
const (
	KindFunc   Kind = "func"
	KindMemory Kind = "memory"
	KindTable  Kind = "table"
	KindGlobal Kind = "global"
)

// Import is one import of a module.
type Import struct {
	Module, Name string
	Kind         Kind
}

func (i Import) String() string { return i.Module + "." + i.Name }

// Export is one exported function or memory of a module.
type Export struct {
	Name string
	Kind Kind
	// Sig is a function's signature, as Signature writes it; empty for a memory.
	Sig string
}

// envoyWASI lists the wasi_snapshot_preview1 functions Envoy >= 1.33 provides.
var envoyWASI = []string{
	"args_get", "args_sizes_get", "clock_time_get", "environ_get", "environ_sizes_get",
	"fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_prestat_dir_name", "fd_prestat_get",
	"fd_read", "fd_seek", "fd_write", "path_open", "poll_oneoff", "proc_exit", "random_get",
	"sched_yield",
}

const (
	wasiModule = "wasi_snapshot_preview1"
	abiPrefix  = "proxy_abi_version_"
	abiVersion = abiPrefix + "0_2_"
)

// required are the function exports Envoy looks up, with their proxy-wasm ABI 0.2 signatures
// (every ABI word is an i32). `_initialize` is the WASI reactor's start, which Envoy calls first.
var required = []Export{
	{Name: "_initialize", Sig: "() -> ()"},
	{Name: "proxy_on_memory_allocate", Sig: "(i32) -> (i32)"},
	{Name: "proxy_on_vm_start", Sig: "(i32, i32) -> (i32)"},
	{Name: "proxy_on_configure", Sig: "(i32, i32) -> (i32)"},
	{Name: "proxy_on_context_create", Sig: "(i32, i32) -> ()"},
	{Name: "proxy_on_request_headers", Sig: "(i32, i32, i32) -> (i32)"},
	{Name: "proxy_on_request_body", Sig: "(i32, i32, i32) -> (i32)"},
	{Name: "proxy_on_response_headers", Sig: "(i32, i32, i32) -> (i32)"},
	{Name: "proxy_on_response_body", Sig: "(i32, i32, i32) -> (i32)"},
	{Name: "proxy_on_log", Sig: "(i32) -> ()"},
	{Name: "proxy_on_done", Sig: "(i32) -> (i32)"},
	{Name: "proxy_on_delete", Sig: "(i32) -> ()"},
	{Name: "proxy_on_tick", Sig: "(i32) -> ()"},
	{Name: "proxy_on_http_call_response", Sig: "(i32, i32, i32, i32, i32) -> ()"},
}

// Check returns the problems that would keep Envoy (>= 1.33, proxy-wasm ABI 0.2) from loading
// or driving a module with these imports and exports, one sentence each, naming the import or
// export at fault. No problems means the module fits.
func Check(imports []Import, exports []Export) []string {
	var problems []string
	for _, im := range imports {
		switch {
		case im.Kind != KindFunc:
			problems = append(problems, fmt.Sprintf("import %s: a %s import; Envoy provides only functions", im, im.Kind))
		case im.Module == "env" && strings.HasPrefix(im.Name, "proxy_"):
		case im.Module == wasiModule && slices.Contains(envoyWASI, im.Name):
		case im.Module == wasiModule:
			problems = append(problems, fmt.Sprintf("import %s: Envoy >= 1.33 does not provide this WASI function", im))
		default:
			problems = append(problems, fmt.Sprintf("import %s: Envoy provides only env.proxy_* and a subset of %s", im, wasiModule))
		}
	}

	byName := map[string]Export{}
	for _, e := range exports {
		byName[e.Name] = e
	}
	if e, ok := byName["memory"]; !ok {
		problems = append(problems, "missing export memory")
	} else if e.Kind != KindMemory {
		problems = append(problems, fmt.Sprintf("export memory: is a %s, want a memory", e.Kind))
	}
	var versions []Export
	for _, e := range exports {
		if strings.HasPrefix(e.Name, abiPrefix) {
			versions = append(versions, e)
		}
	}
	switch {
	case len(versions) == 0:
		problems = append(problems, "missing export "+abiVersion+"*")
	case len(versions) > 1:
		problems = append(problems, fmt.Sprintf("%d proxy-wasm ABI version exports, want exactly one: %v", len(versions), versions))
	case !strings.HasPrefix(versions[0].Name, abiVersion):
		problems = append(problems, fmt.Sprintf("export %s: want ABI 0.2 (%s*)", versions[0].Name, abiVersion))
	default:
		problems = append(problems, checkFunc(versions[0], Export{Name: versions[0].Name, Sig: "() -> ()"})...)
	}
	for _, want := range required {
		e, ok := byName[want.Name]
		if !ok {
			problems = append(problems, "missing export "+want.Name)
			continue
		}
		problems = append(problems, checkFunc(e, want)...)
	}
	return problems
}

func checkFunc(got, want Export) []string {
	if got.Kind != KindFunc {
		return []string{fmt.Sprintf("export %s: is a %s, want a function", got.Name, got.Kind)}
	}
	if got.Sig != want.Sig {
		return []string{fmt.Sprintf("export %s: signature %s, want %s", got.Name, got.Sig, want.Sig)}
	}
	return nil
}

// Signature writes a function type as Check expects it: "(i32, i32) -> (i32)".
func Signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

// Read compiles a module with wazero, which validates it, and returns its imports (functions,
// then memories, tables and globals) and its function and memory exports (sorted by name).
func Read(ctx context.Context, wasm []byte) ([]Import, []Export, error) {
	// The interpreter compiles fastest; only the module's structure is needed here.
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.CompileModule(ctx, wasm)
	if err != nil {
		return nil, nil, fmt.Errorf("compile module: %w", err)
	}
	var imports []Import
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		imports = append(imports, Import{Module: mod, Name: name, Kind: KindFunc})
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		imports = append(imports, Import{Module: mod, Name: name, Kind: KindMemory})
	}
	// wazero does not list imported tables and globals; read them from the import section.
	others, err := tableAndGlobalImports(wasm)
	if err != nil {
		return nil, nil, err
	}
	imports = append(imports, others...)

	var exports []Export
	for name, f := range m.ExportedFunctions() {
		exports = append(exports, Export{Name: name, Kind: KindFunc, Sig: Signature(f.ParamTypes(), f.ResultTypes())})
	}
	for name := range m.ExportedMemories() {
		exports = append(exports, Export{Name: name, Kind: KindMemory})
	}
	slices.SortFunc(exports, func(a, b Export) int { return strings.Compare(a.Name, b.Name) })
	return imports, exports, nil
}
