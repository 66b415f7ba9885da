package stack_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// heldPolls is how many filter polls the benchmark holds open at once: within one data-plane
// token's default burst (1,000).
const heldPolls = 500

// BenchmarkHeldPolls measures what a control replica spends per held long poll (one per worker
// VM of every Envoy): heap and goroutines with heldPolls polls held, minus before. The clients
// run in the same process, so the figures include their side: an upper bound for the server.
//
//	go test -run='^$' -bench=HeldPolls -benchtime=1x ./e2e/stack
func BenchmarkHeldPolls(b *testing.B) {
	e := start(b, stores[0].cfg(b), func(c *stack.Config) { c.Workers = 1 })
	token := e.PluginConfigToken(b)
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		tr := &http.Transport{MaxIdleConnsPerHost: heldPolls}
		client := &http.Client{Transport: tr}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		for range heldPolls {
			go func() {
				// A version far ahead is never published: the poll is held for the whole wait.
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ControlURL()+"/v1/snapshot?version=999999999&wait=60", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		deadline := time.Now().Add(60 * time.Second)
		for controlGauge(b, e.ControlURL(), "portcullis_control_snapshot_polls_waiting") < heldPolls {
			if time.Now().After(deadline) {
				b.Fatalf("only %v polls held", controlGauge(b, e.ControlURL(), "portcullis_control_snapshot_polls_waiting"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/heldPolls, "heap-B/poll")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0)/heldPolls, "goroutines/poll")
		cancel()
		tr.CloseIdleConnections()
	}
}

// controlGauge reads one unlabelled gauge from the control server's /metrics.
func controlGauge(b *testing.B, controlURL, name string) float64 {
	resp, err := client.Get(controlURL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
