package wasmhost

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// envoyWASI is the WASI subset Envoy ≥ 1.33 provides. A module importing anything else fails
// to load in Envoy, so it fails to load here too, with a message that says which import.
var envoyWASI = map[string]bool{
	"args_get": true, "args_sizes_get": true, "clock_time_get": true, "environ_get": true,
	"environ_sizes_get": true, "fd_close": true, "fd_fdstat_get": true, "fd_fdstat_set_flags": true,
	"fd_prestat_dir_name": true, "fd_prestat_get": true, "fd_read": true, "fd_seek": true,
	"fd_write": true, "path_open": true, "poll_oneoff": true, "proc_exit": true, "random_get": true,
	"sched_yield": true,
}

// newRuntime creates the wazero runtime with the host modules the filter imports.
func newRuntime(ctx context.Context, o *Options) (wazero.Runtime, wazero.CompilationCache, error) {
	// NewRuntimeConfig picks the compiler wherever wazero supports it (amd64, arm64) and the
	// interpreter elsewhere, instead of panicking there.
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(o.MemoryLimitPages).
		WithCloseOnContextDone(o.CallTimeout > 0)
	var cache wazero.CompilationCache
	if o.CompilationCacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(o.CompilationCacheDir)
		if err != nil {
			return nil, nil, fmt.Errorf("compilation cache: %w", err)
		}
		cache = c
		cfg = cfg.WithCompilationCache(c)
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		return nil, nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := instantiateEnv(ctx, r); err != nil {
		r.Close(ctx)
		return nil, nil, err
	}
	return r, cache, nil
}

// checkImports refuses a module that imports what Envoy (or this host) does not provide.
func checkImports(m wazero.CompiledModule) error {
	for _, f := range m.ImportedFunctions() {
		module, name, _ := f.Import()
		switch {
		case module == wasi_snapshot_preview1.ModuleName && envoyWASI[name]:
		case module == wasi_snapshot_preview1.ModuleName:
			return fmt.Errorf("module imports %s.%s, which Envoy does not provide", module, name)
		case module == "env" && providedEnv[name]:
		default:
			return fmt.Errorf("module imports %s.%s, which this host does not provide", module, name)
		}
	}
	return nil
}

// moduleConfig is the configuration of one VM instance: no start functions (the host calls
// _initialize itself), stdout and stderr into the log, the filter's wall clock from the host's
// Clock, real randomness.
func (h *Host) moduleConfig(name string, index int) wazero.ModuleConfig {
	clock := h.opts.Clock
	cfg := wazero.NewModuleConfig()
	for k, v := range h.opts.Env {
		cfg = cfg.WithEnv(k, v)
	}
	return cfg.
		WithName(name).
		WithStartFunctions().
		WithStdout(&logWriter{logger: h.opts.Logger, level: slog.LevelInfo, vm: index}).
		WithStderr(&logWriter{logger: h.opts.Logger, level: slog.LevelError, vm: index}).
		WithWalltime(func() (int64, int32) {
			t := clock.Now()
			return t.Unix(), int32(t.Nanosecond())
		}, sys.ClockResolution(time.Microsecond)).
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
}
