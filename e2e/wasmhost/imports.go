package wasmhost

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// hostFunc is one env.proxy_* import. call reads its arguments from the stack and returns the
// proxy-wasm status. Host functions never panic on guest input: a bad pointer or value is a
// status for the guest.
type hostFunc struct {
	name   string
	params []api.ValueType
	call   func(v *vm, s []uint64) status
}

func i32(n int) []api.ValueType {
	t := make([]api.ValueType, n)
	for i := range t {
		t[i] = api.ValueTypeI32
	}
	return t
}

func u32(s []uint64, i int) uint32 { return uint32(s[i]) }

// hostFuncs is every env import the proxy-wasm Go SDK declares, plus the few other ABI calls
// that are as cheap to provide (time, buffer status, header map size).
var hostFuncs = []hostFunc{
	{"proxy_log", i32(3), hostLog},
	{"proxy_get_current_time_nanoseconds", i32(1), hostCurrentTime},
	{"proxy_set_tick_period_milliseconds", i32(1), hostSetTickPeriod},
	{"proxy_set_effective_context", i32(1), hostSetEffectiveContext},
	{"proxy_done", nil, hostDone},
	{"proxy_call_foreign_function", i32(6), hostCallForeign},

	{"proxy_get_property", i32(4), hostGetProperty},
	{"proxy_set_property", i32(4), hostSetProperty},

	{"proxy_get_header_map_value", i32(5), hostGetHeaderMapValue},
	{"proxy_get_header_map_pairs", i32(3), hostGetHeaderMapPairs},
	{"proxy_get_header_map_size", i32(2), hostGetHeaderMapSize},
	{"proxy_set_header_map_pairs", i32(3), hostSetHeaderMapPairs},
	{"proxy_add_header_map_value", i32(5), hostAddHeaderMapValue},
	{"proxy_replace_header_map_value", i32(5), hostReplaceHeaderMapValue},
	{"proxy_remove_header_map_value", i32(3), hostRemoveHeaderMapValue},

	{"proxy_get_buffer_bytes", i32(5), hostGetBufferBytes},
	{"proxy_get_buffer_status", i32(3), hostGetBufferStatus},
	{"proxy_set_buffer_bytes", i32(5), hostSetBufferBytes},

	{"proxy_continue_stream", i32(1), hostContinueStream},
	{"proxy_close_stream", i32(1), hostCloseStream},
	{"proxy_send_local_response", i32(8), hostSendLocalResponse},

	{"proxy_get_shared_data", i32(5), hostGetSharedData},
	{"proxy_set_shared_data", i32(5), hostSetSharedData},
	{"proxy_register_shared_queue", i32(3), hostRegisterQueue},
	{"proxy_resolve_shared_queue", i32(5), hostResolveQueue},
	{"proxy_enqueue_shared_queue", i32(3), hostEnqueue},
	{"proxy_dequeue_shared_queue", i32(3), hostDequeue},

	{"proxy_http_call", i32(10), hostHTTPCall},

	{"proxy_define_metric", i32(4), hostDefineMetric},
	{"proxy_increment_metric", []api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, hostIncrementMetric},
	{"proxy_record_metric", []api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, hostRecordMetric},
	{"proxy_get_metric", i32(2), hostGetMetric},
}

// providedEnv is the set of env imports a module may have.
var providedEnv = func() map[string]bool {
	m := make(map[string]bool, len(hostFuncs))
	for _, f := range hostFuncs {
		m[f.name] = true
	}
	return m
}()

// instantiateEnv registers the env host module with the runtime.
func instantiateEnv(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder("env")
	for _, f := range hostFuncs {
		f := f
		fn := api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
			v := vmOf(ctx)
			if v == nil {
				stack[0] = uint64(statusInternalFailure)
				return
			}
			if hook := v.host.opts.HostCall; hook != nil {
				hook(v.worker.index, f.name)
			}
			stack[0] = uint64(f.call(v, stack))
		})
		b.NewFunctionBuilder().WithGoModuleFunction(fn, f.params, i32(1)).Export(f.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiating the env host module: %w", err)
	}
	return nil
}
