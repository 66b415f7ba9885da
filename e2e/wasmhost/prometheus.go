package wasmhost

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// WritePrometheus writes the filter's metrics in the Prometheus text exposition format (0.0.4)
// the way Envoy's /stats/prometheus does: the stats_tags extractors turn stat-name segments
// into labels, one # TYPE line per family; counters, gauges, and histograms with cumulative
// buckets, _sum and _count. Characters a metric name may not have become underscores.
func (h *Host) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	last := ""
	for _, s := range h.Series() {
		name := s.Family
		if name != last {
			bw.WriteString("# TYPE " + name + " " + s.Kind.String() + "\n")
			last = name
		}
		labels := labelString(s.Labels)
		switch s.Kind {
		case Counter:
			bw.WriteString(name + braces(labels) + " " + strconv.FormatUint(uint64(s.Value), 10) + "\n")
		case Gauge:
			bw.WriteString(name + braces(labels) + " " + strconv.FormatInt(s.Value, 10) + "\n")
		case Histogram:
			for _, b := range s.Buckets {
				le := "+Inf"
				if !math.IsInf(b.UpperBound, 1) {
					le = strconv.FormatFloat(b.UpperBound, 'g', -1, 64)
				}
				bw.WriteString(name + "_bucket" + braces(join(labels, `le="`+le+`"`)) + " " + strconv.FormatUint(b.Count, 10) + "\n")
			}
			bw.WriteString(name + "_sum" + braces(labels) + " " + strconv.FormatUint(s.Sum, 10) + "\n")
			bw.WriteString(name + "_count" + braces(labels) + " " + strconv.FormatUint(s.Count, 10) + "\n")
		}
	}
	return bw.Flush()
}

// labelString renders labels as name="value",… with the exposition format's escapes.
func labelString(ls []Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(promName(l.Name) + `="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l.Value))
		b.WriteByte('"')
	}
	return b.String()
}

func braces(s string) string {
	if s == "" {
		return ""
	}
	return "{" + s + "}"
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// promName maps a metric name onto [a-zA-Z_:][a-zA-Z0-9_:]*.
func promName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
