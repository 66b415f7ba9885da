package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
)

// vm is one instance of the module: Envoy's per-worker Wasm VM. mu serializes every call into
// it; host functions run inside those calls, so everything reached from them is guarded by mu.
type vm struct {
	host   *Host
	worker *worker
	gen    int // reload generation of the worker slot
	mod    api.Module
	ctx    context.Context // carries the vm to host functions

	mu      sync.Mutex
	failed  atomic.Bool // set under mu; read without it to pick streams
	closed  bool
	exports exports

	callCtx    context.Context // the context of the guest call in progress
	stack      [8]uint64
	allocStack [1]uint64
	frame      *frame      // the callback in progress, nil between callbacks
	after      []afterFunc // work to run once mu is released (queue deliveries)
	scratch    []byte      // serialization buffer for maps handed to the guest

	nextID  uint32
	streams map[uint32]*Stream // stream contexts created in the guest and not yet deleted
	tick    tickState
	calls   map[uint32]*httpCall // http_calls in flight
	token   uint32
}

// exports are the guest's proxy-wasm entry points; a missing optional one is skipped (the
// callback continues), as proxy-wasm-cpp-host does.
type exports struct {
	alloc, contextCreate, vmStart, configure, done, delete, log, tick, queueReady, httpCallResponse,
	requestHeaders, requestBody, requestTrailers, responseHeaders, responseBody, responseTrailers api.Function
}

// frame describes the callback in progress: whose context the host calls act on (stream, or
// nil for the root context; proxy_set_effective_context changes it) and what that callback may
// read.
type frame struct {
	stream      *Stream
	callResp    *callResponse // during proxy_on_http_call_response
	configuring bool          // the plugin configuration is readable
	logPhase    bool          // proxy_on_log: maps are readable, not writable
	bodySide    *side         // the side whose body callback runs
	touched     []*Stream     // streams that asked to continue, reply or reset
}

func (f *frame) touch(s *Stream) {
	for _, t := range f.touched {
		if t == s {
			return
		}
	}
	f.touched = append(f.touched, s)
}

// afterFunc is deferred work; it returns the deferred work it produced in turn, so the chain
// runs as a bounded loop instead of a recursion (see runAfter).
type afterFunc func() []afterFunc

type vmKey struct{}

// vmOf finds the vm a host function is called from.
func vmOf(ctx context.Context) *vm {
	v, _ := ctx.Value(vmKey{}).(*vm)
	return v
}

// newVM instantiates the module and runs Envoy's start sequence: _initialize,
// proxy_on_context_create for the root context, proxy_on_vm_start, proxy_on_configure.
func newVM(ctx context.Context, h *Host, w *worker, gen int) (*vm, error) {
	v := &vm{host: h, worker: w, gen: gen, nextID: rootContextID, streams: map[uint32]*Stream{}, calls: map[uint32]*httpCall{}}
	v.ctx = context.WithValue(h.baseCtx, vmKey{}, v)
	v.callCtx = v.ctx
	cfg := h.moduleConfig(fmt.Sprintf("vm%d.%d", w.index, gen), w.index)
	mod, err := h.runtime.InstantiateModule(ctx, h.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("instantiating: %w", err)
	}
	v.mod = mod
	v.exports = exports{
		alloc:            mod.ExportedFunction("proxy_on_memory_allocate"),
		contextCreate:    mod.ExportedFunction("proxy_on_context_create"),
		vmStart:          mod.ExportedFunction("proxy_on_vm_start"),
		configure:        mod.ExportedFunction("proxy_on_configure"),
		done:             mod.ExportedFunction("proxy_on_done"),
		delete:           mod.ExportedFunction("proxy_on_delete"),
		log:              mod.ExportedFunction("proxy_on_log"),
		tick:             mod.ExportedFunction("proxy_on_tick"),
		queueReady:       mod.ExportedFunction("proxy_on_queue_ready"),
		httpCallResponse: mod.ExportedFunction("proxy_on_http_call_response"),
		requestHeaders:   mod.ExportedFunction("proxy_on_request_headers"),
		requestBody:      mod.ExportedFunction("proxy_on_request_body"),
		requestTrailers:  mod.ExportedFunction("proxy_on_request_trailers"),
		responseHeaders:  mod.ExportedFunction("proxy_on_response_headers"),
		responseBody:     mod.ExportedFunction("proxy_on_response_body"),
		responseTrailers: mod.ExportedFunction("proxy_on_response_trailers"),
	}
	if err := v.start(mod); err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return v, nil
}

func (v *vm) start(mod api.Module) error {
	if v.exports.alloc == nil || v.exports.contextCreate == nil {
		return errors.New("module is not a proxy-wasm filter: proxy_on_memory_allocate or proxy_on_context_create is not exported")
	}
	v.mu.Lock()
	defer v.unlock()
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if err := init.CallWithStack(v.ctx, nil); err != nil {
			return fmt.Errorf("_initialize: %w", err)
		}
	}
	root := &frame{}
	if _, ok := v.call(v.exports.contextCreate, root, rootContextID, 0); !ok {
		return fmt.Errorf("proxy_on_context_create: %w", v.failErr())
	}
	if v.exports.vmStart != nil {
		r, ok := v.call(v.exports.vmStart, root, rootContextID, uint64(len(v.host.opts.VMConfig)))
		if !ok {
			return fmt.Errorf("proxy_on_vm_start: %w", v.failErr())
		}
		if r == 0 {
			return errors.New("proxy_on_vm_start failed (the filter rejected the VM configuration)")
		}
	}
	if v.exports.configure != nil {
		r, ok := v.call(v.exports.configure, &frame{configuring: true}, rootContextID, uint64(len(v.host.opts.PluginConfig)))
		if !ok {
			return fmt.Errorf("proxy_on_configure: %w", v.failErr())
		}
		if r == 0 {
			return errors.New("proxy_on_configure failed (the filter rejected the plugin configuration)")
		}
	}
	return nil
}

// call runs one guest callback with f as its frame; mu must be held. It reports false when the
// VM has failed, before or during the call.
func (v *vm) call(fn api.Function, f *frame, params ...uint64) (uint64, bool) {
	if v.failed.Load() || v.closed {
		return 0, false
	}
	prev := v.frame
	v.frame = f
	stack := v.stack[:max(len(params), 1)]
	copy(stack, params)
	ctx := v.ctx
	if d := v.host.opts.CallTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	v.callCtx = ctx
	err := fn.CallWithStack(ctx, stack)
	v.callCtx = v.ctx
	v.frame = prev
	if err != nil {
		v.fail(fmt.Errorf("%s: %w", exportName(fn), err))
		return 0, false
	}
	if v.failed.Load() { // the allocator trapped inside a host call
		return 0, false
	}
	return stack[0], true
}

// errVMFailed is what a failed VM answers for.
var errVMFailed = errors.New("vm failed")

func (v *vm) failErr() error {
	if e := v.worker.lastErr.Load(); e != nil {
		return *e
	}
	return errVMFailed
}

// fail marks the VM failed after a trap: like Envoy's fail-closed policy, every stream on it
// now gets 503, and its timers stop. mu must be held.
func (v *vm) fail(err error) {
	if v.failed.Swap(true) {
		return
	}
	v.worker.recordFailure(err)
	v.host.opts.Logger.Error("wasm vm failed; its streams answer 503", "vm", v.worker.index, "error", err)
	v.stopTick()
	for _, s := range v.streams {
		s.failStream()
	}
}

// unlock releases mu and then runs the deferred work the callbacks produced.
func (v *vm) unlock() {
	acts := v.after
	v.after = nil
	v.mu.Unlock()
	runAfter(v.host, acts)
}

// maxAfterActions bounds a chain of deferred work (a filter that enqueues on every
// on_queue_ready would otherwise ping-pong forever).
const maxAfterActions = 10000

func runAfter(h *Host, acts []afterFunc) {
	for i := 0; i < len(acts); i++ {
		if i == maxAfterActions {
			h.opts.Logger.Error("wasm host: dropping deferred work", "dropped", len(acts)-i)
			return
		}
		acts = append(acts, acts[i]()...)
	}
}

// newStreamID allocates a context id that is not in use.
func (v *vm) newStreamID() uint32 {
	for {
		v.nextID++
		if v.nextID > rootContextID && v.streams[v.nextID] == nil {
			return v.nextID
		}
	}
}

// close runs proxy_on_done for the root context and closes the instance.
func (v *vm) close(ctx context.Context) {
	v.mu.Lock()
	if !v.closed && !v.failed.Load() && v.exports.done != nil {
		v.call(v.exports.done, &frame{}, rootContextID)
	}
	v.closed = true
	v.stopTick()
	for _, s := range v.streams {
		s.resetWith(ErrClosed)
	}
	for _, c := range v.calls {
		c.cancel()
	}
	v.mu.Unlock()
	_ = v.mod.Close(ctx)
}

// memoryBytes is the size of the VM's linear memory.
func (v *vm) memoryBytes() uint64 {
	return uint64(v.mod.Memory().Size())
}

func exportName(fn api.Function) string {
	if names := fn.Definition().ExportNames(); len(names) > 0 {
		return names[0]
	}
	return fn.Definition().DebugName()
}
