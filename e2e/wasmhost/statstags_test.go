package wasmhost

import (
	"reflect"
	"testing"
)

// The default extractors give the filter's stat names the families and labels Envoy's
// /stats/prometheus shows with the same stats_tags; other names pass through untouched.
func TestStatsTagExtraction(t *testing.T) {
	tags, err := compileStatsTags(DefaultStatsTags)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stat, family string
		labels       []Label
	}{
		{"portcullis_requests_denied_total.reason.rate_limited.route.api", "portcullis_requests_denied_total",
			[]Label{{"reason", "rate_limited"}, {"route", "api"}}},
		{"portcullis_requests_denied_total.reason.invalid_path.route._none", "portcullis_requests_denied_total",
			[]Label{{"reason", "invalid_path"}, {"route", "_none"}}},
		// Route names may hold dots and dashes; the route is the last segment, so they stay whole.
		{"portcullis_requests_allowed_total.route.v1.orders-api", "portcullis_requests_allowed_total",
			[]Label{{"route", "v1.orders-api"}}},
		{"portcullis_requests_answered_total.route.app", "portcullis_requests_answered_total",
			[]Label{{"route", "app"}}},
		{"portcullis_ratelimit_global_failures_total.outcome.denied", "portcullis_ratelimit_global_failures_total",
			[]Label{{"outcome", "denied"}}},
		{"portcullis_policy_age_seconds", "portcullis_policy_age_seconds", nil},
		{"probe.requests", "probe_requests", nil},
	}
	for _, tt := range tests {
		family, labels := extract(tags, tt.stat)
		if family != tt.family || !reflect.DeepEqual(labels, tt.labels) {
			t.Errorf("%s → %s %v, want %s %v", tt.stat, family, labels, tt.family, tt.labels)
		}
	}
}

func TestStatsTagNeedsACaptureGroup(t *testing.T) {
	for _, bad := range []StatsTag{{"x", `^wasmcustom\.a`}, {"y", `(`}} {
		if _, err := compileStatsTags([]StatsTag{bad}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
