package plugin

import (
	"errors"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const (
	// usageKey is the shared-data entry where the worker VMs pool their per-key use, in the
	// usage header's own format (snapshot.EncodeUsage).
	usageKey = "portcullis.usage.v1"
	// maxUsageHeader bounds the usage report on one poll; what does not fit waits for the next.
	maxUsageHeader = snapshot.MaxUsageBytes
	// maxSharedUsage bounds the pooled entry; counts that do not fit stay in their VM until the
	// pool has been reported.
	maxSharedUsage = 8 * maxUsageHeader
	// casAttempts bounds the compare-and-swap retries against other VMs; after that the counts
	// stay local and are tried again at the next tick.
	casAttempts = 4
)

// usage counts allowed requests per key id, with the time of each key's last one (so the
// control server records when a key was used, not when the report reached it). A request only
// touches this VM's map; every tick moves the counts into shared data, and whichever VM polls
// next takes the pooled counts (compare-and-swap, so no count is lost or reported twice) and
// reports them on its poll. The server thus hears of a key's use on the first poll that
// returns from any worker.
type usage struct {
	counts map[string]snapshot.Use
}

func (u *usage) add(keyID string, n uint64, at time.Time) {
	if n == 0 {
		return
	}
	if u.counts == nil {
		u.counts = make(map[string]snapshot.Use)
	}
	u.counts[keyID] = u.counts[keyID].Add(snapshot.Use{Count: n, Last: at})
}

// flush moves this VM's counts into the shared pool. On contention or a full pool the rest
// stays local for the next tick.
func (u *usage) flush() {
	if len(u.counts) == 0 {
		return
	}
	for range casAttempts {
		pooled, cas, err := readPool()
		if err != nil {
			return
		}
		size := len(snapshot.EncodeUsage(pooled, 0, nil))
		moved := make(map[string]bool)
		for id, use := range u.counts {
			if _, ok := pooled[id]; !ok {
				if size+1+snapshot.UsageEntryLen(id, use) > maxSharedUsage {
					continue
				}
				size += 1 + snapshot.UsageEntryLen(id, use)
			}
			pooled[id] = pooled[id].Add(use)
			moved[id] = true
		}
		err = proxywasm.SetSharedData(usageKey, snapshot.EncodeUsage(pooled, 0, nil), cas)
		if errors.Is(err, types.ErrorStatusCasMismatch) {
			continue
		}
		if err == nil {
			for id := range moved {
				delete(u.counts, id)
			}
		}
		return
	}
}

// take flushes this VM's counts, then takes up to maxUsageHeader bytes of the pool: the report
// for one poll and the uses it holds (to restore if the poll fails).
func (u *usage) take() (string, map[string]snapshot.Use) {
	u.flush()
	for range casAttempts {
		pooled, cas, err := readPool()
		if err != nil || len(pooled) == 0 {
			return "", nil
		}
		taken := make(map[string]snapshot.Use)
		report := snapshot.EncodeUsage(pooled, maxUsageHeader, taken)
		for id := range taken {
			delete(pooled, id)
		}
		err = proxywasm.SetSharedData(usageKey, snapshot.EncodeUsage(pooled, 0, nil), cas)
		if errors.Is(err, types.ErrorStatusCasMismatch) {
			continue
		}
		if err != nil {
			return "", nil
		}
		return string(report), taken
	}
	return "", nil
}

// restore puts uses back after a poll that did not reach the server; the next tick pools
// them again.
func (u *usage) restore(taken map[string]snapshot.Use) {
	for id, use := range taken {
		u.add(id, use.Count, use.Last)
	}
}

// readPool reads the pooled uses and their cas. Only this filter's VMs write the pool, through
// snapshot.EncodeUsage; an entry that does not parse anyway is dropped (use counts are best
// effort; the request path never depends on them).
func readPool() (map[string]snapshot.Use, uint32, error) {
	data, cas, err := proxywasm.GetSharedData(usageKey)
	if errors.Is(err, types.ErrorStatusNotFound) {
		// Writing a new entry ignores the cas (in Envoy too), so the entry is created empty and
		// counts are only ever written with the cas of a value read: two VMs creating it at
		// once both write nothing.
		if err = proxywasm.SetSharedData(usageKey, nil, 0); err == nil {
			data, cas, err = proxywasm.GetSharedData(usageKey)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	pooled, perr := snapshot.ParseUsageEntries(string(data))
	if perr != nil {
		pooled = make(map[string]snapshot.Use)
	}
	return pooled, cas, nil
}
