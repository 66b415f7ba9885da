package plugin

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
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
//
// Every tick also publishes how old the policy in force is (portcullis_policy_age_seconds),
// whether or not a poll is in flight.
func (p *pluginContext) OnTick() {
	defer p.recoverRoot("tick")
	p.renew()
	if p.control == nil {
		return
	}
	p.fresh.publish(p.now(), p.metrics)
	if p.polling {
		return
	}
	if interval := p.control.PollIntervalMillis; interval > renewTickMillis {
		// The tick runs faster than the poll interval (see OnPluginStart): keep the interval.
		now := time.Now()
		if now.Before(p.nextPoll) {
			return
		}
		p.nextPoll = now.Add(time.Duration(interval) * time.Millisecond)
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
		p.failed(fmt.Sprintf("dispatching the poll to cluster %q: %v", c.Cluster, err))
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
		p.failed(fmt.Sprintf("the control server (cluster %q) is unreachable or gave no answer within %d ms", p.control.Cluster, p.control.TimeoutMillis))
		return
	}
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		p.failed(fmt.Sprintf("reading the poll response: %v", err))
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
		p.confirmed()
	case "200":
		err := p.applyWithoutGC(bodySize, sig)
		if err != nil {
			p.metrics.snapshotRejected.Increment(1)
			p.failed(fmt.Sprintf("rejected a snapshot: %v", err))
			return
		}
		p.confirmed()
		// Ask for the next version at once: the server holds the poll until there is one, so
		// a burst of changes is not spaced out by the tick period.
		p.poll()
	default:
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		p.failed(statusProblem(status, bodyExcerpt(bodySize)))
	}
}

// statusProblem explains an unexpected poll status to the operator reading the log. The
// answer may come from the proxy rather than the control server (a 503 when the cluster is
// unreachable), so the start of its body goes along.
func statusProblem(status, body string) string {
	var why string
	switch status {
	case "401", "403":
		why = "the control server refused the data-plane token (status " + status +
			"): it was revoked or replaced (another start on the same data rotates it); set control.token to a valid one"
	case "429":
		why = "the control server rate-limits this data-plane token (status 429)"
	default:
		why = "the poll was answered with status " + status
	}
	if body != "" {
		why += " (" + body + ")"
	}
	return why
}

// maxExcerpt bounds the part of an error answer that goes into the log.
const maxExcerpt = 160

// bodyExcerpt is the start of the poll answer's body with anything but printable ASCII
// replaced: an error answer's words for the log, never a way to forge log lines.
func bodyExcerpt(bodySize int) string {
	if bodySize <= 0 {
		return ""
	}
	b, err := proxywasm.GetHttpCallResponseBody(0, min(bodySize, maxExcerpt))
	if err != nil {
		return ""
	}
	out := []byte(strings.TrimSpace(string(b)))
	for i, c := range out {
		if c < 0x20 || c > 0x7e {
			out[i] = '?'
		}
	}
	return string(out)
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
	if msg := checkGlobalConfig(eng, p.ratelimit); msg != "" {
		return errors.New(msg)
	}
	if err := p.prepare(eng); err != nil {
		return fmt.Errorf("creating the rate-limit tables: %w", err)
	}
	p.engine, p.version, p.issued = eng, s.Version, s.IssuedAt
	p.metrics.snapshotApplied.Increment(1)
	setGauge(p.metrics.policyVersion, s.Version)
	took := time.Since(start)
	p.metrics.applyDuration.Record(uint64(took.Milliseconds()))
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
