package plugin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// freshnessKey is the shared-data entry where each worker VM states, on every tick, when the
// control server last confirmed its policy. A metric name is one series shared by every VM
// (in Envoy as in our host), so a gauge each VM set to its own age would show whichever VM
// ticked last; through this entry every VM computes the same summary — the oldest age among
// the live workers — and one stuck worker is visible.
const freshnessKey = "portcullis.freshness.v1"

// freshness is one VM's side of the policy-age report.
type freshness struct {
	id      string    // this VM's entry in the shared list
	since   time.Time // the last confirmation, or the VM's start before the first one
	loaded  bool      // a policy is in force (inline or applied)
	expires time.Duration
	window  time.Duration // older than this, the policy is reported stale
}

// workerState is one VM's entry in the shared list.
type workerState struct {
	since, seen int64 // unix milliseconds: last confirmation (or start), last tick
	loaded      bool
}

func newFreshness(now time.Time, loaded bool, tick, window time.Duration) freshness {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	// An entry not refreshed for a few ticks belongs to a VM that is gone (a trap, a reload).
	return freshness{id: hex.EncodeToString(b), since: now, loaded: loaded, expires: 3*tick + 10*time.Second, window: window}
}

// confirm records that the control server confirmed the policy in force: a snapshot applied,
// or "not modified".
func (f *freshness) confirm(now time.Time) {
	f.since = now
	f.loaded = true
}

// publish writes this VM's entry, drops the entries of VMs gone quiet, and sets the gauges to
// the oldest policy age and the number of workers without a policy among the live ones.
// Contention with other VMs is retried a bounded number of times; the gauges then wait for the
// next tick.
func (f *freshness) publish(now time.Time, m *metrics) {
	for range casAttempts {
		// A missing entry reads as cas 0, and writing a new entry ignores the cas: two VMs
		// creating it at once keep one list, and the other VM's entry is back on its next tick.
		data, cas, err := proxywasm.GetSharedData(freshnessKey)
		if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
			return
		}
		workers := parseWorkers(string(data))
		workers[f.id] = workerState{since: f.since.UnixMilli(), seen: now.UnixMilli(), loaded: f.loaded}
		age, missing := summarize(workers, now.UnixMilli(), f.expires.Milliseconds())
		err = proxywasm.SetSharedData(freshnessKey, encodeWorkers(workers), cas)
		if errors.Is(err, types.ErrorStatusCasMismatch) {
			continue
		}
		if err != nil {
			return
		}
		setGauge(m.policyAge, uint64(age/1000))
		stale := uint64(0)
		if f.window > 0 && age > f.window.Milliseconds() {
			stale = 1
		}
		setGauge(m.policyStale, stale)
		setGauge(m.withoutPolicy, uint64(missing))
		return
	}
}

// summarize drops entries not seen within expires and returns the oldest age (ms) and the
// count of workers without a policy among the rest.
func summarize(workers map[string]workerState, now, expires int64) (age int64, missing int) {
	for id, w := range workers {
		if now-w.seen > expires {
			delete(workers, id)
			continue
		}
		age = max(age, now-w.since)
		if !w.loaded {
			missing++
		}
	}
	return age, missing
}

// parseWorkers reads "id,since,seen,loaded;…". Entries that do not parse are dropped: a
// worker rewrites its own on its next tick.
func parseWorkers(s string) map[string]workerState {
	out := make(map[string]workerState)
	for entry := range strings.SplitSeq(s, ";") {
		f := strings.Split(entry, ",")
		if len(f) != 4 || f[0] == "" {
			continue
		}
		since, err1 := strconv.ParseInt(f[1], 10, 64)
		seen, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || (f[3] != "0" && f[3] != "1") {
			continue
		}
		out[f[0]] = workerState{since: since, seen: seen, loaded: f[3] == "1"}
	}
	return out
}

func encodeWorkers(workers map[string]workerState) []byte {
	var b []byte
	for id, w := range workers {
		if len(b) > 0 {
			b = append(b, ';')
		}
		b = append(b, id...)
		b = append(b, ',')
		b = strconv.AppendInt(b, w.since, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, w.seen, 10)
		if w.loaded {
			b = append(b, ",1"...)
		} else {
			b = append(b, ",0"...)
		}
	}
	return b
}
