package wasmhost_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestStartFailure(t *testing.T) {
	tests := []struct {
		name string
		opts wasmhost.Options
		want string
	}{
		{"vm start fails", wasmhost.Options{VMConfig: []byte("fail")}, "vm 0: proxy_on_vm_start failed"},
		{"plugin configuration rejected", wasmhost.Options{PluginConfig: []byte("fail=1")}, "vm 0: proxy_on_configure failed"},
		{"bad cluster URL", wasmhost.Options{Clusters: map[string]string{"c": "ftp://x"}}, `cluster "c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = quiet()
			tt.opts.CompilationCacheDir = cacheDir
			h, err := wasmhost.New(context.Background(), module(t, "hostprobe.wasm"), tt.opts)
			if err == nil {
				h.Close(context.Background())
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// wasmModule assembles a module that only imports module.name as a () -> () function.
func wasmModule(module, name string) []byte {
	imp := []byte{1, byte(len(module))}
	imp = append(imp, module...)
	imp = append(imp, byte(len(name)))
	imp = append(imp, name...)
	imp = append(imp, 0, 0) // a function of type 0
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = append(b, 1, 4, 1, 0x60, 0, 0) // type section: one () -> () type
	b = append(b, 2, byte(len(imp)))
	return append(b, imp...)
}

// TestImports: a module that imports what Envoy does not provide is refused, naming the import.
func TestImports(t *testing.T) {
	tests := []struct{ module, name, want string }{
		{"wasi_snapshot_preview1", "fd_filestat_get", "wasi_snapshot_preview1.fd_filestat_get, which Envoy does not provide"},
		{"env", "proxy_grpc_call", "env.proxy_grpc_call, which this host does not provide"},
	}
	for _, tt := range tests {
		_, err := wasmhost.New(context.Background(), wasmModule(tt.module, tt.name), wasmhost.Options{Logger: quiet()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("import %s.%s: error %v, want it to say %q", tt.module, tt.name, err, tt.want)
		}
	}
}

func TestForeignFunctions(t *testing.T) {
	h := probeHost(t, wasmhost.Options{ForeignFunctions: map[string]func([]byte) ([]byte, error){
		"echo": func(b []byte) ([]byte, error) { return append(b, '!'), nil },
	}})
	if got := localBody(t, headers(t, h, request("foreign"))); got != "echo=ping! err=ok missing=not_found" {
		t.Fatalf("probe saw %q", got)
	}
}

// records is a slog handler that keeps records for assertions.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) find(msg string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.list {
		if rec.Message == msg {
			return rec, true
		}
	}
	return slog.Record{}, false
}

// TestLogLevels: proxy_log maps the six proxy-wasm levels onto slog levels.
func TestLogLevels(t *testing.T) {
	rec := &records{}
	h := probeHost(t, wasmhost.Options{Logger: slog.New(rec)})
	headers(t, h, request("log"))
	for msg, level := range map[string]slog.Level{
		"probe log trace": slog.LevelDebug - 4, "probe log debug": slog.LevelDebug, "probe log info": slog.LevelInfo,
		"probe log warn": slog.LevelWarn, "probe log error": slog.LevelError, "probe log critical": slog.LevelError + 4,
	} {
		r, ok := rec.find(msg)
		if !ok || r.Level != level {
			t.Errorf("%q: logged %v at %v, want %v", msg, ok, r.Level, level)
		}
	}
	headers(t, h, request("panic"))
	if _, ok := rec.find("panic: probe: panic requested by x-probe"); !ok {
		t.Error("the panic message on the module's stderr was not logged")
	}
}

// TestClose: Close resets open streams and refuses new ones.
func TestClose(t *testing.T) {
	h, err := wasmhost.New(context.Background(), module(t, "hostprobe.wasm"), wasmhost.Options{Workers: 1, Logger: quiet(), CompilationCacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	s := h.NewStream(wasmhost.StreamInfo{})
	if r := s.RequestHeaders(request("hold"), true); r.Action != wasmhost.Pause {
		t.Fatalf("hold: %v", r.Action)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, err := s.WaitRequest(context.Background()); err != nil || r.Action != wasmhost.Reset {
		t.Fatalf("open stream after Close: %+v %v, want a reset", r, err)
	}
	s.Done()
	if r := h.NewStream(wasmhost.StreamInfo{}).RequestHeaders(request(""), true); r.Action != wasmhost.Reset {
		t.Fatalf("new stream after Close: %+v, want a reset", r)
	}
}
