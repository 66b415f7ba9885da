package wasmhost_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestTicks: every VM's root context ticks at the period it set, on the host clock.
func TestTicks(t *testing.T) {
	clock := wasmhost.NewFakeClock(epoch)
	h := probeHost(t, wasmhost.Options{Workers: 2, Clock: clock, PluginConfig: []byte("tick_ms=100")})
	steps := []struct {
		advance time.Duration
		want    int64
	}{
		{99 * time.Millisecond, 0},
		{time.Millisecond, 2},        // t=100ms: one tick per VM
		{time.Second, 2 + 2*10},      // t=1.1s
		{250 * time.Millisecond, 26}, // t=1.35s: ticks at 1.2s and 1.3s
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if got := metricValue(t, h, "probe_ticks"); got != st.want {
			t.Fatalf("at %v: %d ticks, want %d", clock.Now().Sub(epoch), got, st.want)
		}
	}
}

// TestSharedQueue: an item enqueued by a stream reaches on_queue_ready of the VM that registered
// the queue, before the enqueuing call returns.
func TestSharedQueue(t *testing.T) {
	h := probeHost(t, wasmhost.Options{Workers: 2})
	for i := 1; i <= 3; i++ {
		if r := headers(t, h, request("queue")); r.Action != wasmhost.Continue {
			t.Fatalf("enqueue %d: %+v", i, r)
		}
		if got := metricValue(t, h, "probe_queue_items"); got != int64(i) {
			t.Fatalf("after %d enqueues the queue delivered %d items", i, got)
		}
	}
}

// TestFilterClock: the filter's own time.Now() reads the host clock.
func TestFilterClock(t *testing.T) {
	clock := wasmhost.NewFakeClock(epoch)
	h := probeHost(t, wasmhost.Options{Clock: clock})
	clock.Advance(90 * time.Minute)
	want := epoch.Add(90 * time.Minute).Format(time.RFC3339Nano)
	if got := localBody(t, headers(t, h, request("now"))); got != want {
		t.Fatalf("the filter's time.Now() = %s, want %s", got, want)
	}
}
