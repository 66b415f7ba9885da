package plugin

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// maxSnapshotBytes bounds a snapshot body read into the VM.
const maxSnapshotBytes = 64 << 20

// OnTick starts a poll unless one is in flight. The server holds a poll open until a newer
// version exists (long poll), so a change is applied as soon as the server answers; after an
// applied snapshot the next poll starts at once, and the tick period only spaces out polls
// after errors, rejections or "not modified".
func (p *pluginContext) OnTick() {
	defer p.recoverRoot("tick")
	if p.control == nil || p.polling {
		return
	}
	p.poll()
}

func (p *pluginContext) poll() {
	c := p.control
	path := snapshot.PollPath + "?version=" + strconv.FormatUint(p.version, 10) + "&wait=" + strconv.Itoa(c.WaitSeconds)
	headers := [][2]string{
		{":method", "GET"},
		{":path", path},
		{":authority", c.Authority},
		{"authorization", "Bearer " + c.Token},
	}
	report, taken := p.usage.take()
	if report != "" {
		headers = append(headers, [2]string{snapshot.UsageHeader, report})
	}
	if _, err := proxywasm.DispatchHttpCall(c.Cluster, headers, nil, nil, uint32(c.TimeoutMillis), p.onPollResponse); err != nil {
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: polling cluster %q: %v; keeping policy version %d", c.Cluster, err, p.version)
		return
	}
	p.polling = true
	p.inflight = taken
}

// onPollResponse handles the control server's answer. Nothing here can make the filter fail
// open: any failure keeps the last good policy.
func (p *pluginContext) onPollResponse(numHeaders, bodySize, _ int) {
	defer p.recoverRoot("poll response")
	p.polling = false
	taken := p.inflight
	p.inflight = nil
	if numHeaders == 0 { // Envoy's way of saying the call failed or timed out
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: control server unreachable or timed out; keeping policy version %d", p.version)
		return
	}
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: reading the poll response: %v", err)
		return
	}
	status, sig := "", ""
	for _, kv := range headers {
		switch kv[0] {
		case ":status":
			status = kv[1]
		case snapshot.SignatureHeader:
			sig = kv[1]
		}
	}
	switch status {
	case "304":
		return
	case "200":
		err := p.applyWithoutGC(bodySize, sig)
		if err != nil {
			p.metrics.snapshotRejected.Increment(1)
			proxywasm.LogWarnf("portcullis: rejected snapshot: %v; keeping policy version %d", err, p.version)
			return
		}
		// Ask for the next version at once: the server holds the poll until there is one, so
		// a burst of changes is not spaced out by the tick period.
		p.poll()
	default:
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		proxywasm.LogWarnf("portcullis: control server answered %s; keeping policy version %d", status, p.version)
	}
}

var errStale = errors.New("not newer than the applied version")

// applyWithoutGC applies a snapshot with the garbage collector paused, then collects once.
// Go's collector in Wasm runs on the VM's only thread: left on, it would run cycles in the
// middle of the decode (marking, write barriers on every pointer the decoder stores), which
// made a 10,000-key apply ~20% slower and its duration erratic; and the garbage (several times
// the policy, plus the old engine) would otherwise be collected inside whichever request next
// allocates. The pause is bounded: only a signed snapshot of at most maxSnapshotBytes is
// decoded, and the collection right after returns the memory to the heap.
func (p *pluginContext) applyWithoutGC(bodySize int, sig string) error {
	old := debug.SetGCPercent(-1)
	defer func() {
		debug.SetGCPercent(old)
		runtime.GC()
	}()
	return p.apply(bodySize, sig)
}

// apply verifies, decodes and compiles a snapshot, then swaps it in. Requests already running
// keep the engine they started with.
func (p *pluginContext) apply(bodySize int, sig string) error {
	start := time.Now()
	if bodySize <= 0 || bodySize > maxSnapshotBytes {
		return fmt.Errorf("body of %d bytes (limit %d)", bodySize, maxSnapshotBytes)
	}
	body, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	if err := snapshot.Verify(p.control.PublicKey, body, sig); err != nil {
		return err
	}
	s, err := snapshot.Decode(body)
	if err != nil {
		return err
	}
	if s.Version <= p.version {
		return fmt.Errorf("version %d: %w %d", s.Version, errStale, p.version)
	}
	eng, err := engine.Compile(s.Policy)
	if err != nil {
		return err
	}
	p.engine, p.version, p.issued = eng, s.Version, s.IssuedAt
	p.metrics.snapshotApplied.Increment(1)
	p.metrics.policyVersion.Add(int64(s.Version) - p.metrics.policyVersion.Value())
	took := time.Since(start)
	p.metrics.applyMillis.Record(uint64(took.Milliseconds()))
	proxywasm.LogInfof("portcullis: applied policy version %d (%d routes, %d keys, %d bytes) in %v",
		s.Version, eng.RouteCount(), eng.KeyCount(), bodySize, took.Round(time.Millisecond))
	return nil
}

// recoverRoot keeps a panic in a root-context callback from trapping the VM; the policy in
// force stays.
func (p *pluginContext) recoverRoot(where string) {
	if r := recover(); r != nil {
		p.polling = false
		proxywasm.LogCriticalf("portcullis: recovered from a panic in %s: %v; keeping policy version %d", where, r, p.version)
	}
}
