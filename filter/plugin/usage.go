package plugin

import (
	"errors"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const (
	// usageKey is the shared-data entry where the worker VMs pool their per-key use counts.
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

// usage counts allowed requests per key id. A request only touches this VM's map; every tick
// moves the counts into shared data, and whichever VM polls next takes the pooled counts
// (compare-and-swap, so no count is lost or reported twice) and reports them on its poll. The
// server thus hears of a key's use on the first poll that returns from any worker.
type usage struct {
	counts map[string]uint64
}

func (u *usage) add(keyID string, n uint64) {
	if n == 0 {
		return
	}
	if u.counts == nil {
		u.counts = make(map[string]uint64)
	}
	u.counts[keyID] += n
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
		moved := make(map[string]uint64)
		for id, n := range u.counts {
			if _, ok := pooled[id]; !ok && encodedLen(pooled)+entryLen(id, pooled[id]+n) > maxSharedUsage {
				continue
			}
			pooled[id] += n
			moved[id] = n
		}
		err = proxywasm.SetSharedData(usageKey, encodeUsage(pooled, 0, nil), cas)
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
// for one poll, "id=count,id=count", and the counts it holds (to restore if the poll fails).
func (u *usage) take() (string, map[string]uint64) {
	u.flush()
	for range casAttempts {
		pooled, cas, err := readPool()
		if err != nil || len(pooled) == 0 {
			return "", nil
		}
		taken := make(map[string]uint64)
		report := encodeUsage(pooled, maxUsageHeader, taken)
		for id := range taken {
			delete(pooled, id)
		}
		err = proxywasm.SetSharedData(usageKey, encodeUsage(pooled, 0, nil), cas)
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

// restore puts counts back after a poll that did not reach the server; the next tick pools
// them again.
func (u *usage) restore(taken map[string]uint64) {
	for id, n := range taken {
		u.add(id, n)
	}
}

// readPool reads the pooled counts and their cas. Entries that do not parse are dropped
// (counts are best effort; the request path never depends on them).
func readPool() (map[string]uint64, uint32, error) {
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
	pooled := make(map[string]uint64)
	for entry := range strings.SplitSeq(string(data), ",") {
		id, n, ok := strings.Cut(entry, "=")
		c, err := strconv.ParseUint(n, 10, 64)
		if ok && err == nil && id != "" {
			pooled[id] += c
		}
	}
	return pooled, cas, nil
}

// encodeUsage writes counts as "id=count,…". With limit > 0 it stops before exceeding limit
// bytes and records what it wrote in taken.
func encodeUsage(counts map[string]uint64, limit int, taken map[string]uint64) []byte {
	var buf []byte
	for id, n := range counts {
		if limit > 0 && len(buf)+1+entryLen(id, n) > limit {
			continue
		}
		if len(buf) > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, id...)
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, n, 10)
		if taken != nil {
			taken[id] = n
		}
	}
	return buf
}

func entryLen(id string, n uint64) int { return len(id) + 1 + len(strconv.FormatUint(n, 10)) }

func encodedLen(counts map[string]uint64) int {
	total := 0
	for id, n := range counts {
		total += entryLen(id, n) + 1
	}
	return total
}
