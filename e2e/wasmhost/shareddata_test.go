package wasmhost_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestSharedDataCompareAndSwap(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	got := localBody(t, headers(t, h, request("cas", [2]string{"x-probe-key", "k"})))
	// set with cas 0, get, set with a wrong cas, the right cas, the now stale cas, cas 0 again,
	// then the value, and a key that was never set.
	want := "set=ok get=ok wrong=cas_mismatch right=ok stale=cas_mismatch zero=ok value=e missing=not_found"
	if got != want {
		t.Fatalf("probe saw\n  %s\nwant\n  %s", got, want)
	}
	if v, _, ok := h.SharedData("probe_cas_k"); !ok || string(v) != "e" {
		t.Fatalf("shared data probe_cas_k = %q, %v; want \"e\"", v, ok)
	}
}

// TestSharedCounterNoLostUpdates runs parallel requests on several VMs that all increment one
// shared-data counter with compare-and-swap: every increment must land exactly once.
func TestSharedCounterNoLostUpdates(t *testing.T) {
	const workers, clients, perClient = 4, 8, 40
	h := probeHost(t, wasmhost.Options{Workers: workers})

	var mu sync.Mutex
	seen := map[string]int{}
	vms := map[int]int{}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				s := h.NewStream(wasmhost.StreamInfo{})
				r := s.RequestHeaders(request("count"), true)
				s.Done()
				mu.Lock()
				seen[value(r.Headers, "x-probe-count")]++
				vms[s.VM()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	total := clients * perClient
	v, _, _ := h.SharedData("probe_counter")
	if string(v) != strconv.Itoa(total) {
		t.Fatalf("counter = %s after %d increments", v, total)
	}
	for n := 1; n <= total; n++ {
		if seen[strconv.Itoa(n)] != 1 {
			t.Fatalf("value %d was written %d times, want once (lost or duplicated update)", n, seen[strconv.Itoa(n)])
		}
	}
	if len(vms) != workers {
		t.Fatalf("requests ran on VMs %v, want all %d", vms, workers)
	}
	t.Logf("compare-and-swap retries under contention: %d", metricValue(t, h, "probe_cas_retries"))
}
