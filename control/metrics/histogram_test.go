package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("x_duration_seconds", "How long.", []float64{0.1, 1})
	for _, v := range []float64{0.05, 0.1, 0.5, 3} {
		h.Observe(v)
	}
	h.ObserveDuration(250 * time.Millisecond)
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_duration_seconds How long.
# TYPE x_duration_seconds histogram
x_duration_seconds_bucket{le="0.1"} 2
x_duration_seconds_bucket{le="1"} 4
x_duration_seconds_bucket{le="+Inf"} 5
x_duration_seconds_sum 3.9
x_duration_seconds_count 5
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHistogramBoundsMustAscend(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("descending bounds accepted")
		}
	}()
	NewRegistry().Histogram("y", "", []float64{1, 0.5})
}
