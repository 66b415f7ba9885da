package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
)

// Host runs one proxy-wasm module in Options.Workers VMs that share shared data, shared queues
// and metrics.
type Host struct {
	opts     Options
	clusters map[string]*url.URL
	runtime  wazero.Runtime
	cache    wazero.CompilationCache
	compiled wazero.CompiledModule

	baseCtx context.Context // cancelled by Close: ends http_calls in flight
	cancel  context.CancelFunc

	workers  []*worker
	next     atomic.Uint64 // round-robin position
	shared   *sharedData
	queues   *queues
	metrics  *metrics
	tags     []tagExtractor
	inflight sync.WaitGroup // http_call goroutines
	closed   atomic.Bool
	closeMu  sync.Mutex
}

// New compiles wasm, starts the worker VMs one after another and configures the plugin in each.
// A VM whose start or configuration fails fails New with an error naming it: like Envoy, a
// filter that rejects its configuration is never served.
func New(ctx context.Context, wasm []byte, opts Options) (*Host, error) {
	opts, clusters, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("wasm host options: %w", err)
	}
	h := &Host{opts: opts, clusters: clusters, shared: newSharedData(), queues: newQueues(), metrics: newMetrics()}
	tags := opts.StatsTags
	if tags == nil {
		tags = DefaultStatsTags
	}
	if h.tags, err = compileStatsTags(tags); err != nil {
		return nil, err
	}
	h.baseCtx, h.cancel = context.WithCancel(context.Background())
	h.runtime, h.cache, err = newRuntime(ctx, &h.opts)
	if err != nil {
		h.cancel()
		return nil, err
	}
	h.compiled, err = h.runtime.CompileModule(ctx, wasm)
	if err == nil {
		err = checkImports(h.compiled)
	}
	if err != nil {
		h.Close(ctx)
		return nil, fmt.Errorf("compiling the module: %w", err)
	}
	for i := 0; i < opts.Workers; i++ {
		w := &worker{host: h, index: i}
		v, err := newVM(ctx, h, w, 0)
		if err != nil {
			h.Close(ctx)
			return nil, fmt.Errorf("vm %d: %w", i, err)
		}
		w.vm = v
		h.workers = append(h.workers, w)
	}
	return h, nil
}

// NewStream starts a request on the next VM in round-robin order (Envoy pins a request to the
// worker of its connection; round-robin spreads load the same way and keeps tests
// deterministic). If that VM failed and a reload is due, it is reloaded first.
func (h *Host) NewStream(info StreamInfo) *Stream {
	if h.closed.Load() || len(h.workers) == 0 {
		return &Stream{host: h}
	}
	w := h.workers[int((h.next.Add(1)-1)%uint64(len(h.workers)))]
	v := w.current(h.baseCtx)
	s := &Stream{host: h, vm: v, info: info, start: h.opts.Clock.Now()}
	s.req.notify = make(chan struct{}, 1)
	s.resp = side{response: true, notify: make(chan struct{}, 1)}
	v.mu.Lock()
	s.id = v.newStreamID()
	v.mu.Unlock()
	return s
}

// Metrics returns a snapshot of every metric the filter defined, sorted by name.
func (h *Host) Metrics() []Metric { return h.metrics.snapshot() }

// Metric returns the snapshot of one metric.
func (h *Host) Metric(name string) (Metric, bool) {
	for _, m := range h.metrics.snapshot() {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// SharedData returns a shared-data value and its cas, for tests and diagnostics.
func (h *Host) SharedData(key string) (value []byte, cas uint32, ok bool) {
	v, ok := h.shared.get(key)
	return append([]byte(nil), v.data...), v.cas, ok
}

// SharedDataSize reports how many shared-data entries exist and how many bytes their keys and
// values hold, for capacity tests.
func (h *Host) SharedDataSize() (entries, bytes int) {
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	return len(h.shared.m), h.shared.bytes
}

// VMInfo describes one worker VM.
type VMInfo struct {
	Index int
	// Generation counts reloads of this worker's VM.
	Generation int
	Failed     bool
	// MemoryBytes is the size of the VM's linear memory.
	MemoryBytes uint64
}

// VMs describes the worker VMs.
func (h *Host) VMs() []VMInfo {
	out := make([]VMInfo, 0, len(h.workers))
	for _, w := range h.workers {
		w.mu.Lock()
		v, gen := w.vm, w.gen
		w.mu.Unlock()
		info := VMInfo{Index: w.index, Generation: gen, Failed: v.failed.Load()}
		v.mu.Lock()
		if !v.closed && !info.Failed { // a trapped module may already be closed by wazero
			info.MemoryBytes = v.memoryBytes()
		}
		v.mu.Unlock()
		out = append(out, info)
	}
	return out
}

// Close stops the ticks, cancels the http_calls in flight, runs proxy_on_done on every root
// context and releases the VMs; streams still open are reset with ErrClosed. Close waits for the
// http_call goroutines until ctx ends.
func (h *Host) Close(ctx context.Context) error {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed.Swap(true) {
		return nil
	}
	h.cancel()
	for _, w := range h.workers {
		w.mu.Lock()
		v := w.vm
		w.mu.Unlock()
		v.close(ctx)
	}
	done := make(chan struct{})
	go func() { h.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("waiting for http_calls to end: %w", ctx.Err())
	}
	if h.runtime != nil {
		err = errors.Join(err, h.runtime.Close(ctx))
	}
	if h.cache != nil {
		err = errors.Join(err, h.cache.Close(ctx))
	}
	return err
}
