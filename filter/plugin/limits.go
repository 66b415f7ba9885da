package plugin

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// sharedCounters is the engine's Counters on proxy-wasm shared data: one store for every
// worker VM of the Envoy process, compare-and-swap on each entry.
type sharedCounters struct{}

var _ engine.Counters = sharedCounters{}

func (sharedCounters) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	switch {
	case errors.Is(err, types.ErrorStatusNotFound):
		return nil, 0, false, nil
	case err != nil:
		return nil, 0, false, err
	}
	return v, cas, true, nil
}

func (sharedCounters) Set(key string, value []byte, cas uint32) error {
	err := proxywasm.SetSharedData(key, value, cas)
	if errors.Is(err, types.ErrorStatusCasMismatch) {
		return engine.ErrVersionMismatch
	}
	return err
}

// limitState is the rate-limit and concurrency state of one VM.
type limitState struct {
	owner     uint64 // this VM's holder id in the concurrency slots, drawn at start
	ready     bool   // the shared tables exist (EnsureCounters ran in this VM)
	held      map[engine.Lease]int
	lastRenew int64 // wall-clock ns: leases are compared across VMs in wall-clock time
}

func newOwner() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on wasip1 (random_get); a fixed id would still be safe
		// between VMs that differ in start time.
		binary.LittleEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// prepare sets up the shared tables before an engine that counts is put in force.
func (p *pluginContext) prepare(eng *engine.Engine) error {
	if !eng.UsesCounters() || p.limits.ready {
		return nil
	}
	if err := engine.EnsureCounters(sharedCounters{}); err != nil {
		return err
	}
	p.limits.ready = true
	return nil
}

// hold records the concurrency slots of a request in flight, for the renewals.
func (p *pluginContext) hold(leases []engine.Lease) {
	if p.limits.held == nil {
		p.limits.held = make(map[engine.Lease]int)
	}
	for _, l := range leases {
		p.limits.held[l]++
	}
}

// release gives back the slots of a request whose stream ended.
func (p *pluginContext) release(leases []engine.Lease) {
	for _, l := range leases {
		if n := p.limits.held[l] - 1; n > 0 {
			p.limits.held[l] = n
		} else {
			delete(p.limits.held, l)
		}
	}
	if err := engine.ReleaseLeases(sharedCounters{}, p.limits.owner, leases, time.Now().UnixNano()); err != nil {
		// The slot stays counted until this VM's lease on it lapses (engine.LeaseTTL).
		p.metrics.releaseFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: releasing a concurrency slot: %v", err)
	}
}

// renew keeps this VM's concurrency slots alive; called on every tick, it writes only every
// engine.RenewEvery.
func (p *pluginContext) renew() {
	now := time.Now().UnixNano()
	if len(p.limits.held) == 0 || now-p.limits.lastRenew < int64(engine.RenewEvery) {
		return
	}
	p.limits.lastRenew = now
	if err := engine.RenewLeases(sharedCounters{}, p.limits.owner, p.limits.held, now); err != nil {
		p.metrics.releaseFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: renewing concurrency slots: %v", err)
	}
}

// countLimits records what the limit checks of a decision did in the metrics.
func (m *metrics) countLimits(r *engine.LimitResult) {
	if m == nil || r == nil {
		return
	}
	if r.Contended {
		m.contended.Increment(1)
	}
	if r.Evicted > 0 {
		m.evictions.Increment(uint64(r.Evicted))
	}
}
