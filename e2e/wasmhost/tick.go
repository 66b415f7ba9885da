package wasmhost

import "time"

// tickState is the root context's timer (proxy_set_tick_period_milliseconds). gen tells a
// stale timer, replaced while it was firing, to do nothing.
type tickState struct {
	period time.Duration
	timer  Timer
	gen    uint64
}

func hostSetTickPeriod(v *vm, s []uint64) status {
	v.setTickPeriod(time.Duration(u32(s, 0)) * time.Millisecond)
	return statusOK
}

// setTickPeriod replaces the timer; 0 stops ticking. mu must be held.
func (v *vm) setTickPeriod(d time.Duration) {
	v.stopTick()
	v.tick.period = d
	if d > 0 {
		v.armTick()
	}
}

func (v *vm) armTick() {
	gen := v.tick.gen
	v.tick.timer = v.host.opts.Clock.AfterFunc(v.tick.period, func() { v.fireTick(gen) })
}

func (v *vm) stopTick() {
	v.tick.gen++
	if v.tick.timer != nil {
		v.tick.timer.Stop()
		v.tick.timer = nil
	}
}

// fireTick delivers proxy_on_tick and re-arms the timer, as Envoy re-enables it after each tick.
func (v *vm) fireTick(gen uint64) {
	v.mu.Lock()
	defer v.unlock()
	if gen != v.tick.gen || v.closed || v.failed.Load() || v.exports.tick == nil {
		return
	}
	f := &frame{}
	v.call(v.exports.tick, f, rootContextID)
	v.settle(f)
	if gen == v.tick.gen && !v.failed.Load() { // the tick did not change or stop the period
		v.armTick()
	}
}
