package plugin

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// troubleLogEvery spaces the log lines of a control server that stays unreachable (or keeps
// sending what the filter rejects): one when the trouble starts, one when its reason changes,
// then one a minute, instead of one per poll interval.
const troubleLogEvery = time.Minute

// trouble is the current run of polls that did not refresh the policy.
type trouble struct {
	reason  string
	count   int
	logged  time.Time
	started time.Time
}

// failed records a poll that did not refresh the policy and logs it at error level with its
// reason (which never holds the token), unless the same reason was logged less than
// troubleLogEvery ago.
func (p *pluginContext) failed(reason string) {
	now := p.now()
	t := &p.trouble
	if t.count == 0 {
		t.started = now
	}
	t.count++
	if reason == t.reason && now.Sub(t.logged) < troubleLogEvery {
		return
	}
	t.reason, t.logged = reason, now
	proxywasm.LogErrorf("portcullis: cannot refresh the policy: %s; keeping policy version %d, last confirmed by the control server %v ago (%d failed polls since %s)",
		reason, p.version, now.Sub(p.fresh.since).Round(time.Second), t.count, t.started.UTC().Format(time.RFC3339))
}

// confirmed records that the control server confirmed the policy in force, publishes it at
// once (a worker that just got its first policy must not count as without one until its next
// tick), and logs the end of a run of failures.
func (p *pluginContext) confirmed() {
	now := p.now()
	if p.trouble.count > 0 {
		proxywasm.LogInfof("portcullis: the control server answers again after %d failed polls over %v",
			p.trouble.count, now.Sub(p.trouble.started).Round(time.Second))
		p.trouble = trouble{}
	}
	// Only an answer that repeats the poll's nonce gets here, so it was made after the poll
	// was sent: at most control.timeout_ms before now.
	p.fresh.confirm(now)
	p.fresh.publish(now, p.metrics)
}
