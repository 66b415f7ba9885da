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
	// metricApplyMillis is how long each applied snapshot took to verify, decode and compile,
	// in milliseconds: the time the worker served no request.
	metricApplyMillis = "portcullis_snapshot_apply_ms"
)

type metrics struct {
	allowed  proxywasm.MetricCounter
	answered proxywasm.MetricCounter // CORS preflights answered by the filter
	denied   map[string]proxywasm.MetricCounter

	snapshotApplied, snapshotRejected, pollFailures proxywasm.MetricCounter
	policyVersion                                   proxywasm.MetricGauge
	applyMillis                                     proxywasm.MetricHistogram
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
		applyMillis:      proxywasm.DefineHistogramMetric(metricApplyMillis),
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
