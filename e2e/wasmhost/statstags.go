package wasmhost

import (
	"fmt"
	"regexp"
	"sort"
)

// StatsTag is one of Envoy's stats_config.stats_tags regex tag extractors. Envoy matches the
// regex against the full stat name; the first capture group is cut out of the name, the
// second (or the first, when there is only one) is the tag's value. A Wasm filter's stats are
// named wasmcustom.<name> in Envoy, a namespace Envoy's Prometheus output drops, so the
// regexes here see that prefix too and the rendered names are the same as Envoy's.
type StatsTag struct {
	Name, Regex string
}

// wasmNamespace is the custom stat namespace Envoy puts a Wasm filter's metrics in.
const wasmNamespace = "wasmcustom."

// DefaultStatsTags are the tag extractors of envoy.yaml for Portcullis's labelled metrics
// (filter/plugin/metrics.go); e2e/envoyconfig checks that envoy.yaml and
// envoy-control.yaml carry exactly these. A host without Options.StatsTags uses them.
var DefaultStatsTags = []StatsTag{
	{"reason", `^wasmcustom\.portcullis_requests_denied_total(\.reason\.([a-z0-9_]+))`},
	{"route", `^wasmcustom\.portcullis_requests_[a-z]+_total(?:\.reason\.[a-z0-9_]+)?(\.route\.([A-Za-z0-9_.-]+))$`},
	{"outcome", `^wasmcustom\.portcullis_ratelimit_global_failures_total(\.outcome\.([a-z]+))$`},
}

type tagExtractor struct {
	name string
	re   *regexp.Regexp
}

func compileStatsTags(tags []StatsTag) ([]tagExtractor, error) {
	out := make([]tagExtractor, 0, len(tags))
	for _, t := range tags {
		re, err := regexp.Compile(t.Regex)
		if err != nil {
			return nil, fmt.Errorf("stats tag %q: %w", t.Name, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("stats tag %q: the regex needs a capture group", t.Name)
		}
		out = append(out, tagExtractor{t.Name, re})
	}
	return out, nil
}

// Label is one name="value" pair of a series.
type Label struct{ Name, Value string }

// Series is a metric as Envoy's Prometheus output shows it: the tag-extracted name (the
// family) and the labels the tag extractors found.
type Series struct {
	Family string
	Labels []Label // sorted by name
	Metric
}

// extract applies the extractors to a stat name as Envoy does: every extractor runs on the
// original name and the removed spans are cut out together at the end.
func extract(tags []tagExtractor, name string) (family string, labels []Label) {
	full := wasmNamespace + name
	type span struct{ from, to int }
	var cut []span
	for _, t := range tags {
		m := t.re.FindStringSubmatchIndex(full)
		if m == nil || m[2] < 0 {
			continue
		}
		v := full[m[2]:m[3]]
		if len(m) >= 6 && m[4] >= 0 {
			v = full[m[4]:m[5]]
		}
		labels = append(labels, Label{t.name, v})
		cut = append(cut, span{m[2], m[3]})
	}
	sort.Slice(cut, func(i, j int) bool { return cut[i].from < cut[j].from })
	b := make([]byte, 0, len(full))
	at := 0
	for _, c := range cut {
		if c.from < at { // overlapping spans: Envoy keeps the first removal
			c.from = at
		}
		if c.to > at {
			b = append(b, full[at:c.from]...)
			at = c.to
		}
	}
	b = append(b, full[at:]...)
	family = string(b)
	if len(family) > len(wasmNamespace) && family[:len(wasmNamespace)] == wasmNamespace {
		family = family[len(wasmNamespace):]
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	return promName(family), labels
}

// Series returns every metric as a labelled series, sorted by family, then labels.
func (h *Host) Series() []Series {
	ms := h.metrics.snapshot()
	out := make([]Series, 0, len(ms))
	for _, m := range ms {
		f, l := extract(h.tags, m.Name)
		out = append(out, Series{Family: f, Labels: l, Metric: m})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Family != out[j].Family {
			return out[i].Family < out[j].Family
		}
		return labelString(out[i].Labels) < labelString(out[j].Labels)
	})
	return out
}

// Sum adds up the counters and gauges of a family whose labels include every name, value
// pair given ("reason", "rate_limited"): what sum(family{...}) shows in Prometheus.
func (h *Host) Sum(family string, labelPairs ...string) int64 {
	var n int64
	for _, s := range h.Series() {
		if s.Family == family && hasLabels(s.Labels, labelPairs) {
			n += s.Value
		}
	}
	return n
}

func hasLabels(have []Label, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range have {
			if l.Name == pairs[i] && l.Value == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
