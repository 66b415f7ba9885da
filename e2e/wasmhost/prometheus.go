package wasmhost

import (
	"bufio"
	"io"
	"math"
	"strconv"
)

// WritePrometheus writes the filter's metrics in the Prometheus text exposition format (0.0.4):
// counters, gauges, and histograms with cumulative buckets, _sum and _count. Characters a
// metric name may not have become underscores.
func (h *Host) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, m := range h.Metrics() {
		name := promName(m.Name)
		bw.WriteString("# TYPE " + name + " " + m.Kind.String() + "\n")
		switch m.Kind {
		case Counter:
			bw.WriteString(name + " " + strconv.FormatUint(uint64(m.Value), 10) + "\n")
		case Gauge:
			bw.WriteString(name + " " + strconv.FormatInt(m.Value, 10) + "\n")
		case Histogram:
			for _, b := range m.Buckets {
				le := "+Inf"
				if !math.IsInf(b.UpperBound, 1) {
					le = strconv.FormatFloat(b.UpperBound, 'g', -1, 64)
				}
				bw.WriteString(name + `_bucket{le="` + le + `"} ` + strconv.FormatUint(b.Count, 10) + "\n")
			}
			bw.WriteString(name + "_sum " + strconv.FormatUint(m.Sum, 10) + "\n")
			bw.WriteString(name + "_count " + strconv.FormatUint(m.Count, 10) + "\n")
		}
	}
	return bw.Flush()
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
