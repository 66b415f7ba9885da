package wasmhost_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestMetrics: metrics are shared across VMs by name and exposed in Prometheus format.
func TestMetrics(t *testing.T) {
	h := probeHost(t, wasmhost.Options{Workers: 3})
	for i := 0; i < 6; i++ {
		s := h.NewStream(wasmhost.StreamInfo{})
		s.RequestHeaders(request(""), false)
		s.RequestBody([]byte("12345"), true)
		if i < 5 {
			s.Done()
		}
	}
	checks := []struct {
		name string
		want int64
	}{
		{"probe_requests", 6},     // counters from three VMs add up
		{"probe_streams_done", 5}, // proxy_on_log ran for each finished stream
		{"probe_inflight", 1},     // a gauge goes up and down
	}
	for _, c := range checks {
		if got := metricValue(t, h, c.name); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	var b strings.Builder
	if err := h.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"# TYPE probe_requests counter\nprobe_requests 6\n",
		"# TYPE probe_inflight gauge\nprobe_inflight 1\n",
		"# TYPE probe_request_body_bytes histogram\n",
		`probe_request_body_bytes_bucket{le="1"} 0` + "\n",
		`probe_request_body_bytes_bucket{le="5"} 6` + "\n",
		`probe_request_body_bytes_bucket{le="+Inf"} 6` + "\n",
		"probe_request_body_bytes_sum 30\nprobe_request_body_bytes_count 6\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("exposition lacks %q:\n%s", line, b.String())
		}
	}
}
