package plugin

import (
	"crypto/rand"
	"encoding/hex"
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

// maxSnapshotBytes bounds a snapshot body read into the VM: a policy with 1,000,000 keys
// (policy.MaxKeys) is ~120 MB with its key table.
const maxSnapshotBytes = 256 << 20

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
	if !p.wantFull {
		path += "&" + snapshot.DeltaParam + "=1"
	}
	if p.version > 0 {
		path += "&" + snapshot.IssuedParam + "=" + strconv.FormatInt(p.issued.UnixMicro(), 10)
	}
	nonce := makeNonce()
	path += "&" + snapshot.NonceParam + "=" + nonce + "&" + snapshot.FreshnessParam + "=2"
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
	p.pollNonce = nonce
}

// makeNonce returns a poll's nonce; the native tests replace it to sign answers ahead of the
// poll.
var makeNonce = newNonce

// newNonce is a poll's nonce: 64 random bits, which the answer's signed freshness statement
// must repeat.
func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
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
	var status string
	var rep snapshot.Reply
	for _, kv := range headers {
		switch kv[0] {
		case ":status":
			status = kv[1]
		case snapshot.SignatureHeader:
			rep.Signature = kv[1]
		case snapshot.PayloadHeader:
			rep.Kind = kv[1]
		case snapshot.FreshnessHeader:
			rep.Freshness = kv[1]
		}
	}
	switch status {
	case "304", "200":
		rep.NotModified = status == "304"
		if err := p.accept(bodySize, rep); err != nil {
			p.metrics.snapshotRejected.Increment(1)
			if rep.Kind == snapshot.KindDelta {
				// Whatever went wrong with a delta, a full snapshot sets it right.
				p.wantFull = true
			}
			p.failed(fmt.Sprintf("rejected a snapshot answer (%s): %v", answerKind(rep), err))
			return
		}
		p.confirmed()
		if !rep.NotModified {
			// Ask for the next version at once: the server holds the poll until there is
			// one, so a burst of changes is not spaced out by the tick period.
			p.poll()
		}
	default:
		p.usage.restore(taken)
		p.metrics.pollFailures.Increment(1)
		p.failed(statusProblem(status, bodyExcerpt(bodySize)))
	}
}

func answerKind(rep snapshot.Reply) string {
	switch {
	case rep.NotModified:
		return "not modified"
	case rep.Kind == "":
		return snapshot.KindSnapshot
	}
	return rep.Kind
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

// accept opens a poll answer (snapshot.Open: freshness, signature, decoding, version rules)
// and puts what it holds in force: a full snapshot, a delta, or only the confirmation that the
// policy in force is current. Nothing changes unless everything checks.
func (p *pluginContext) accept(bodySize int, rep snapshot.Reply) error {
	if !rep.NotModified {
		if bodySize <= 0 || bodySize > maxSnapshotBytes {
			return fmt.Errorf("body of %d bytes (limit %d)", bodySize, maxSnapshotBytes)
		}
		body, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
		if err != nil {
			return fmt.Errorf("reading body: %w", err)
		}
		rep.Body = body
	}
	if rep.NotModified || rep.Kind == snapshot.KindDelta {
		a, err := snapshot.Open(p.control.PublicKey, p.version, p.pollNonce, rep)
		if err != nil {
			return err
		}
		if a.Delta != nil {
			if err := p.applyDelta(a.Delta, bodySize); err != nil {
				return err
			}
		}
		return nil
	}
	return p.applyWithoutGC(rep)
}

// applyDelta puts a delta in force: engine.Apply checks every change before it changes
// anything, and runs inside this one callback, so no request sees the delta half applied.
func (p *pluginContext) applyDelta(d *snapshot.Delta, bodySize int) error {
	start := time.Now()
	if p.engine == nil {
		return fmt.Errorf("a delta with no policy in force: %w", engine.ErrDelta)
	}
	if err := p.engine.Apply(d.Changes); err != nil {
		return err
	}
	took := p.applied(d.Version, d.IssuedAt, p.metrics.deltaApplied, start)
	c := d.Changes
	proxywasm.LogInfof("portcullis: applied policy version %d as a delta from %d (%d keys put, %d removed; %d revocations put, %d removed; %d webhook verifiers put, %d removed; %d bytes) in %v",
		d.Version, d.Base, len(c.PutKeys), len(c.RemoveKeys), len(c.PutRevocations), len(c.RemoveRevocations),
		len(c.PutWebhooks), len(c.RemoveWebhooks), bodySize, took.Round(time.Microsecond))
	return nil
}

// applyWithoutGC applies a full snapshot with the garbage collector paused, then collects once.
// Go's collector in Wasm runs on the VM's only thread: left on, it would run cycles in the
// middle of the decode (marking, write barriers on every pointer the decoder stores), which
// made a 10,000-key apply ~20% slower and its duration erratic; and the garbage (several times
// the policy, plus the old engine) would otherwise be collected inside whichever request next
// allocates. The pause is bounded: only a signed snapshot of at most maxSnapshotBytes is
// decoded, and the collection right after returns the memory to the heap. (Deltas and "not
// modified" answers are small and skip both.)
func (p *pluginContext) applyWithoutGC(rep snapshot.Reply) error {
	old := debug.SetGCPercent(-1)
	defer func() {
		debug.SetGCPercent(old)
		runtime.GC()
	}()
	return p.apply(rep)
}

// apply opens, compiles and swaps in a full snapshot. Requests already running keep the
// engine they started with.
func (p *pluginContext) apply(rep snapshot.Reply) error {
	start := time.Now()
	a, err := snapshot.Open(p.control.PublicKey, p.version, p.pollNonce, rep)
	if err != nil {
		return err
	}
	s := a.Snapshot
	eng, err := engine.CompileWithKeys(s.Policy, s.Keys)
	if err != nil {
		return err
	}
	if msg := checkGlobalConfig(eng, p.ratelimit); msg != "" {
		return errors.New(msg)
	}
	if err := p.prepare(eng); err != nil {
		return fmt.Errorf("creating the rate-limit tables: %w", err)
	}
	p.engine = eng
	took := p.applied(s.Version, s.IssuedAt, p.metrics.snapshotApplied, start)
	proxywasm.LogInfof("portcullis: applied policy version %d (%d routes, %d keys, %d bytes) in %v",
		s.Version, eng.RouteCount(), eng.KeyCount(), len(rep.Body), took.Round(time.Millisecond))
	return nil
}

// applied records a version put in force (by a snapshot or a delta, counted in counter) and
// returns how long it took since start.
func (p *pluginContext) applied(version uint64, issued time.Time, counter proxywasm.MetricCounter, start time.Time) time.Duration {
	p.version, p.issued, p.wantFull = version, issued, false
	counter.Increment(1)
	setGauge(p.metrics.policyVersion, version)
	took := time.Since(start)
	p.metrics.applyDuration.Record(uint64(took.Milliseconds()))
	return took
}

// recoverRoot keeps a panic in a root-context callback from trapping the VM; the policy in
// force stays.
func (p *pluginContext) recoverRoot(where string) {
	if r := recover(); r != nil {
		p.polling = false
		proxywasm.LogCriticalf("portcullis: recovered from a panic in %s: %v; keeping policy version %d", where, r, p.version)
	}
}
