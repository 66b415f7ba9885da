package wasmhost_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// The probe (testdata/hostprobe) reads its action from the x-probe request header and either
// answers locally with what it observed or edits the request and lets it through.

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func probeHost(tb testing.TB, opts wasmhost.Options) *wasmhost.Host {
	tb.Helper()
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	return newHost(tb, "hostprobe.wasm", opts)
}

// request returns GET / headers with an action and extra headers.
func request(action string, extra ...[2]string) [][2]string {
	h := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "example.com"}, {":scheme", "http"}}
	if action != "" {
		h = append(h, [2]string{"x-probe", action})
	}
	return append(h, extra...)
}

// headers runs one bodiless request's headers through a new stream and ends the stream.
func headers(tb testing.TB, h *wasmhost.Host, pairs [][2]string) wasmhost.Result {
	tb.Helper()
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	return s.RequestHeaders(pairs, true)
}

// localBody asserts a local response and returns its body.
func localBody(tb testing.TB, r wasmhost.Result) string {
	tb.Helper()
	if r.Action != wasmhost.LocalResponse {
		tb.Fatalf("action = %v (err %v), want a local response", r.Action, r.Err)
	}
	return string(r.Local.Body)
}

func values(pairs [][2]string, name string) []string {
	var out []string
	for _, kv := range pairs {
		if kv[0] == name {
			out = append(out, kv[1])
		}
	}
	return out
}

func value(pairs [][2]string, name string) string {
	return strings.Join(values(pairs, name), ",")
}

func metricValue(tb testing.TB, h *wasmhost.Host, name string) int64 {
	tb.Helper()
	m, ok := h.Metric(name)
	if !ok {
		tb.Fatalf("metric %s is not defined", name)
	}
	return m.Value
}
