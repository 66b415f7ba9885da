package plugin

import (
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Metric names. The denial counters carry the denial code in their name (codes are a fixed
// set, never request data).
const (
	metricAllowed          = "portcullis_requests_allowed"
	metricAnswered         = "portcullis_requests_answered"
	metricDeniedPrefix     = "portcullis_requests_denied_"
	metricSnapshotApplied  = "portcullis_snapshots_applied"
	metricSnapshotRejected = "portcullis_snapshots_rejected"
	metricPollFailures     = "portcullis_poll_failures"
	metricPolicyVersion    = "portcullis_policy_version"
	// metricPolicyAge is how many seconds ago the control server last confirmed the policy in
	// force (a snapshot applied, or "not modified"), for the worker whose confirmation is
	// oldest; before the first confirmation it counts from the worker's start. Set on every
	// tick; 0 without a control section.
	metricPolicyAge = "portcullis_policy_age_seconds"
	// metricPolicyStale is 1 while some worker's policy was last confirmed by a signed
	// freshness statement longer ago than control.freshness_window_seconds, else 0. The
	// filter keeps enforcing a stale policy (never failing open); readiness reports it.
	metricPolicyStale = "portcullis_policy_stale"
	// metricDeltaApplied counts deltas applied (full snapshots count in snapshots_applied;
	// refused answers of either kind in snapshots_rejected).
	metricDeltaApplied = "portcullis_deltas_applied"
	// metricWithoutPolicy is how many workers have no policy at all (requests there get 503).
	metricWithoutPolicy = "portcullis_workers_without_policy"
	// metricApplyMillis is how long each applied snapshot took to verify, decode and compile,
	// in milliseconds: the time the worker served no request.
	metricApplyMillis = "portcullis_snapshot_apply_ms"
	// Rate limits: requests refused because the compare-and-swap retries ran out, buckets
	// evicted before they were full, concurrency slots that could not be released or renewed.
	metricContended       = "portcullis_ratelimit_contended"
	metricEvictions       = "portcullis_ratelimit_evictions"
	metricReleaseFailures = "portcullis_ratelimit_release_failures"
	// Global limits: calls to the rate-limit service, and calls that failed (unreachable,
	// timed out, an error status) counted by the failure mode applied.
	metricGlobalCalls        = "portcullis_ratelimit_global_calls"
	metricGlobalFailedOpen   = "portcullis_ratelimit_global_failures_allowed"
	metricGlobalFailedClosed = "portcullis_ratelimit_global_failures_denied"
)

type metrics struct {
	allowed  proxywasm.MetricCounter
	answered proxywasm.MetricCounter // CORS preflights answered by the filter
	denied   map[string]proxywasm.MetricCounter

	snapshotApplied, snapshotRejected, pollFailures, deltaApplied proxywasm.MetricCounter
	policyVersion, policyAge, withoutPolicy, policyStale          proxywasm.MetricGauge
	applyMillis                                                   proxywasm.MetricHistogram

	contended, evictions, releaseFailures             proxywasm.MetricCounter
	globalCalls, globalFailedOpen, globalFailedClosed proxywasm.MetricCounter
}

// defineMetrics defines every counter up front so the request path only increments.
func defineMetrics() *metrics {
	m := &metrics{
		allowed:  proxywasm.DefineCounterMetric(metricAllowed),
		answered: proxywasm.DefineCounterMetric(metricAnswered),
		denied:   make(map[string]proxywasm.MetricCounter, len(engine.Codes)),

		snapshotApplied:  proxywasm.DefineCounterMetric(metricSnapshotApplied),
		snapshotRejected: proxywasm.DefineCounterMetric(metricSnapshotRejected),
		pollFailures:     proxywasm.DefineCounterMetric(metricPollFailures),
		policyVersion:    proxywasm.DefineGaugeMetric(metricPolicyVersion),
		policyAge:        proxywasm.DefineGaugeMetric(metricPolicyAge),
		policyStale:      proxywasm.DefineGaugeMetric(metricPolicyStale),
		deltaApplied:     proxywasm.DefineCounterMetric(metricDeltaApplied),
		withoutPolicy:    proxywasm.DefineGaugeMetric(metricWithoutPolicy),
		applyMillis:      proxywasm.DefineHistogramMetric(metricApplyMillis),

		contended:       proxywasm.DefineCounterMetric(metricContended),
		evictions:       proxywasm.DefineCounterMetric(metricEvictions),
		releaseFailures: proxywasm.DefineCounterMetric(metricReleaseFailures),

		globalCalls:        proxywasm.DefineCounterMetric(metricGlobalCalls),
		globalFailedOpen:   proxywasm.DefineCounterMetric(metricGlobalFailedOpen),
		globalFailedClosed: proxywasm.DefineCounterMetric(metricGlobalFailedClosed),
	}
	for _, c := range engine.Codes {
		m.denied[string(c)] = proxywasm.DefineCounterMetric(metricDeniedPrefix + string(c))
	}
	return m
}

func (m *metrics) deny(code string) {
	if m == nil {
		return
	}
	if c, ok := m.denied[code]; ok {
		c.Increment(1)
	}
}

// setGauge sets a gauge to v. The SDK only adds to gauges, and "read it, add the difference"
// races between VMs (two VMs moving 5 to 7 leave 9). proxy_record_metric sets a gauge (the
// ABI's definition; Envoy and e2e/wasmhost do so); the SDK exposes that call only on its
// histogram type, which is the same metric id.
func setGauge(g proxywasm.MetricGauge, v uint64) {
	proxywasm.MetricHistogram(g).Record(v)
}
