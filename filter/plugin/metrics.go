package plugin

import (
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Metric names follow Prometheus conventions (counters end in _total, units in the name). The
// proxy-wasm ABI has no labels, so a labelled series is one stat whose name carries its labels
// as ".<label>.<value>" segments after the family name:
//
//	portcullis_requests_denied_total.reason.rate_limited.route.api
//
// Envoy turns those segments into labels with the stats_tags regexes in envoy.yaml (it sees
// the stat as wasmcustom.<name> and drops that namespace in /stats/prometheus); the local
// gateway applies the same regexes (e2e/wasmhost, DefaultStatsTags). Label values come from
// bounded sets only: reason from the denial table (engine.Codes), route from the policy's
// route names (routeNone when no route matched), outcome from two words.
const (
	metricAllowed  = "portcullis_requests_allowed_total"
	metricAnswered = "portcullis_requests_answered_total" // CORS preflights the filter answered
	metricDenied   = "portcullis_requests_denied_total"

	metricSnapshotApplied  = "portcullis_snapshots_applied_total"
	metricSnapshotRejected = "portcullis_snapshots_rejected_total"
	metricPollFailures     = "portcullis_poll_failures_total"
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
	// refused answers of either kind in snapshots_rejected_total).
	metricDeltaApplied = "portcullis_deltas_applied_total"
	// metricWithoutPolicy is how many workers have no policy at all (requests there get 503).
	metricWithoutPolicy = "portcullis_workers_without_policy"
	// metricApplyDuration is how long each applied snapshot took to verify, decode and compile:
	// the time the worker served no request. In milliseconds, not seconds: proxy-wasm
	// histograms take whole numbers and Envoy does not rescale them, so seconds would record
	// every apply as 0 or 1. The unit is in the name so nobody mistakes it.
	metricApplyDuration = "portcullis_snapshot_apply_duration_milliseconds"
	// Rate limits: requests refused because the compare-and-swap retries ran out, buckets
	// evicted before they were full, concurrency slots that could not be released or renewed.
	metricContended       = "portcullis_ratelimit_contended_total"
	metricEvictions       = "portcullis_ratelimit_evictions_total"
	metricReleaseFailures = "portcullis_ratelimit_release_failures_total"
	// Global limits: calls to the rate-limit service, and calls that failed (unreachable,
	// timed out, an error status) by what the failure mode did with the request.
	metricGlobalCalls    = "portcullis_ratelimit_global_calls_total"
	metricGlobalFailures = "portcullis_ratelimit_global_failures_total"

	// routeNone is the route label of requests no route matched (denied before or at route
	// matching). Route names start with a letter or digit, so it names no route.
	routeNone = "_none"
)

type metrics struct {
	// routes holds each route's request counters, defined the first time the route decides a
	// request: the policy, not the request, bounds the set.
	routes map[string]*routeCounters
	codes  map[string]bool // the denial table's codes, the only reasons counted

	snapshotApplied, snapshotRejected, pollFailures, deltaApplied proxywasm.MetricCounter
	policyVersion, policyAge, withoutPolicy, policyStale          proxywasm.MetricGauge
	applyDuration                                                 proxywasm.MetricHistogram

	contended, evictions, releaseFailures             proxywasm.MetricCounter
	globalCalls, globalFailedOpen, globalFailedClosed proxywasm.MetricCounter
}

// routeCounters are one route's series; denied is filled per reason on its first denial.
type routeCounters struct {
	route             string
	allowed, answered proxywasm.MetricCounter
	denied            map[string]proxywasm.MetricCounter
}

// defineMetrics defines every unlabelled metric up front so the request path only increments.
func defineMetrics() *metrics {
	codes := make(map[string]bool, len(engine.Codes))
	for _, c := range engine.Codes {
		codes[string(c)] = true
	}
	return &metrics{
		routes: map[string]*routeCounters{},
		codes:  codes,

		snapshotApplied:  proxywasm.DefineCounterMetric(metricSnapshotApplied),
		snapshotRejected: proxywasm.DefineCounterMetric(metricSnapshotRejected),
		pollFailures:     proxywasm.DefineCounterMetric(metricPollFailures),
		policyVersion:    proxywasm.DefineGaugeMetric(metricPolicyVersion),
		policyAge:        proxywasm.DefineGaugeMetric(metricPolicyAge),
		policyStale:      proxywasm.DefineGaugeMetric(metricPolicyStale),
		deltaApplied:     proxywasm.DefineCounterMetric(metricDeltaApplied),
		withoutPolicy:    proxywasm.DefineGaugeMetric(metricWithoutPolicy),
		applyDuration:    proxywasm.DefineHistogramMetric(metricApplyDuration),

		contended:       proxywasm.DefineCounterMetric(metricContended),
		evictions:       proxywasm.DefineCounterMetric(metricEvictions),
		releaseFailures: proxywasm.DefineCounterMetric(metricReleaseFailures),

		globalCalls:        proxywasm.DefineCounterMetric(metricGlobalCalls),
		globalFailedOpen:   proxywasm.DefineCounterMetric(metricGlobalFailures + ".outcome.allowed"),
		globalFailedClosed: proxywasm.DefineCounterMetric(metricGlobalFailures + ".outcome.denied"),
	}
}

// route returns the counters of a route, defining them on its first request. The map lookup
// with the decision's route name allocates nothing; only the first request of a route does.
func (m *metrics) route(name string) *routeCounters {
	if name == "" {
		name = routeNone
	}
	if r, ok := m.routes[name]; ok {
		return r
	}
	r := &routeCounters{
		route:    name,
		allowed:  proxywasm.DefineCounterMetric(metricAllowed + ".route." + name),
		answered: proxywasm.DefineCounterMetric(metricAnswered + ".route." + name),
		denied:   make(map[string]proxywasm.MetricCounter, 4),
	}
	m.routes[name] = r
	return r
}

func (m *metrics) allow(route string) {
	if m != nil {
		m.route(route).allowed.Increment(1)
	}
}

func (m *metrics) answer(route string) {
	if m != nil {
		m.route(route).answered.Increment(1)
	}
}

// deny counts a denial by reason and route. A code outside the denial table is not counted
// at all (it would be an unbounded label); it cannot happen, denials come from the table, and
// the guard keeps it that way.
func (m *metrics) deny(code, route string) {
	if m == nil || !m.codes[code] {
		return
	}
	r := m.route(route)
	c, ok := r.denied[code]
	if !ok {
		c = proxywasm.DefineCounterMetric(metricDenied + ".reason." + code + ".route." + r.route)
		r.denied[code] = c
	}
	c.Increment(1)
}

// setGauge sets a gauge to v. The SDK only adds to gauges, and "read it, add the difference"
// races between VMs (two VMs moving 5 to 7 leave 9). proxy_record_metric sets a gauge (the
// ABI's definition; Envoy and e2e/wasmhost do so); the SDK exposes that call only on its
// histogram type, which is the same metric id.
func setGauge(g proxywasm.MetricGauge, v uint64) {
	proxywasm.MetricHistogram(g).Record(v)
}
