package wasmhost

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// worker is one VM slot: Envoy's worker thread with its VM. When the VM traps, the slot keeps
// the failed VM (its streams get 503) until a reload is due.
type worker struct {
	host  *Host
	index int

	mu        sync.Mutex // guards vm, gen and the reload schedule; taken before any vm.mu
	vm        *vm
	gen       int
	reloads   int
	scheduled *vm       // the failed VM the schedule below is for
	retryAt   time.Time // when the next reload may be tried

	failures atomic.Int32          // consecutive failures without a healthy stream in between
	failedAt atomic.Int64          // clock time of the last failure, unix nanoseconds
	lastErr  atomic.Pointer[error] // why the last VM failed
}

// recordFailure is called by the failing VM under its own lock, so it touches only atomics.
func (w *worker) recordFailure(err error) {
	w.failedAt.Store(w.host.opts.Clock.Now().UnixNano())
	w.lastErr.Store(&err)
}

// healthy resets the backoff once a VM has served a stream to its end.
func (w *worker) healthy() {
	if w.failures.Load() != 0 {
		w.failures.Store(0)
	}
}

// current returns the VM for a new stream. With ReloadOnTrap, a failed VM is replaced once its
// backoff has passed: base, then doubling per consecutive failure up to the maximum, like
// Envoy's reload policy (without jitter, so tests can rely on it). The reload runs on the
// request that finds it due, as in Envoy.
func (w *worker) current(ctx context.Context) *vm {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.vm
	o := &w.host.opts
	if !v.failed.Load() || !o.ReloadOnTrap || w.host.closed.Load() {
		return v
	}
	if w.scheduled != v {
		w.scheduled = v
		n := w.failures.Add(1)
		w.retryAt = time.Unix(0, w.failedAt.Load()).Add(backoff(o.ReloadBackoff, o.MaxReloadBackoff, int(n)))
	}
	now := o.Clock.Now()
	if now.Before(w.retryAt) {
		return v
	}
	nv, err := newVM(ctx, w.host, w, w.gen+1)
	if err != nil {
		n := w.failures.Add(1)
		w.retryAt = now.Add(backoff(o.ReloadBackoff, o.MaxReloadBackoff, int(n)))
		o.Logger.Error("wasm vm reload failed", "vm", w.index, "error", err, "retry_in", w.retryAt.Sub(now))
		return v
	}
	w.vm, w.gen, w.scheduled = nv, w.gen+1, nil
	w.reloads++
	o.Logger.Info("wasm vm reloaded", "vm", w.index, "generation", w.gen)
	v.close(ctx)
	return nv
}

// backoff is base·2^(n-1), capped at max.
func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
