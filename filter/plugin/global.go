package plugin

import (
	"time"

	"github.com/portcullis/portcullis/filter/config"
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// maxGlobalAnswer bounds the rate-limit service's answer read into the VM.
const maxGlobalAnswer = 64 << 10

// countGlobal asks the global rate-limit service to count the request's global limits (the
// local buckets already let it through) and holds the request until it answers.
func (h *httpContext) countGlobal(d *engine.Decision) types.Action {
	rl := h.plugin.ratelimit
	if rl == nil {
		// A policy with global limits is refused at start and at apply without this section.
		return h.globalFailed(d)
	}
	headers := [][2]string{
		{":method", "POST"}, {":path", engine.GlobalPath}, {":authority", rl.Authority},
		{"content-type", "application/json"},
	}
	body := engine.GlobalRequest(rl.Domain, d.Limits.Global)
	if _, err := proxywasm.DispatchHttpCall(rl.Cluster, headers, body, nil, uint32(rl.TimeoutMillis), func(numHeaders, bodySize, _ int) {
		h.onGlobalAnswer(d, numHeaders, bodySize)
	}); err != nil {
		proxywasm.LogWarnf("portcullis: calling the rate-limit service: %v", err)
		return h.globalFailed(d)
	}
	h.plugin.metrics.globalCalls.Increment(1)
	return types.ActionPause
}

func (h *httpContext) onGlobalAnswer(d *engine.Decision, numHeaders, bodySize int) {
	defer h.recoverPanic("rate-limit answer", nil)
	status := 0
	if numHeaders > 0 { // 0: the call failed or timed out
		if hs, err := proxywasm.GetHttpCallResponseHeaders(); err == nil {
			for _, kv := range hs {
				if kv[0] == ":status" {
					status = atoi(kv[1])
				}
			}
		}
	}
	var body []byte
	if bodySize > 0 && bodySize <= maxGlobalAnswer {
		body, _ = proxywasm.GetHttpCallResponseBody(0, bodySize)
	}
	over, retryAfter, ok := engine.GlobalAnswer(status, body)
	var action types.Action
	switch {
	case !ok:
		proxywasm.LogWarnf("portcullis: rate-limit service answered status %d", status)
		action = h.globalFailed(d)
	case over:
		// Refused by the global count: put back what the local buckets took, so the
		// request counts against none of its limits.
		engine.Refund(sharedCounters{}, d.Limits, time.Now().UnixNano())
		action = h.reply(engine.DenyGlobal(d, retryAfter))
	default:
		action = h.forward(d)
	}
	if action == types.ActionContinue {
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("portcullis: resuming the request: %v", err)
		}
	}
}

// globalFailed applies the failure mode when the service could not count: refuse (503) when
// a limit says "deny", else let the request through on the local buckets alone. Each outcome
// has its own counter.
func (h *httpContext) globalFailed(d *engine.Decision) types.Action {
	if engine.GlobalFailDeny(d.Limits) {
		h.plugin.metrics.globalFailedClosed.Increment(1)
		engine.Refund(sharedCounters{}, d.Limits, time.Now().UnixNano())
		return h.reply(engine.FailGlobal(d))
	}
	h.plugin.metrics.globalFailedOpen.Increment(1)
	return h.forward(d)
}

// checkGlobalConfig refuses an engine with global limits when the plugin configuration names
// no rate-limit service: misconfiguration fails the start (or the snapshot), not requests.
func checkGlobalConfig(eng *engine.Engine, rl *config.RateLimitService) string {
	if eng.UsesGlobal() && rl == nil {
		return `the policy has global rate limits but the plugin configuration has no "ratelimit" section`
	}
	return ""
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
