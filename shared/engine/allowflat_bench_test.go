package engine_test

import (
	"bytes"
	"flag"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

var flatKeys = flag.Int("flat.keys", 100_000, "the large policy's key count for BenchmarkAllowFlatPaired (1000000 for issue 13's target)")

// BenchmarkAllowFlatPaired is issue 13's "allow cost flat from 1 key to 1M keys", measured so
// that the machine's drift cannot decide it: two engines, compiled from snapshots of one key and
// of -flat.keys keys (one route, keys as testpolicy.Large), each allowing a request with one of
// its keys, judged in alternating blocks of 256 requests. On this shared 2-core machine two
// separate runs of the same benchmark differ by up to 40%, more than the 10% asked about.
// Reported: ns per allowed request of each (small-ns/op, large-ns/op), each side's fastest
// block (p0, the estimate of a quiet machine), and large/small.
func BenchmarkAllowFlatPaired(b *testing.B) {
	small, smallReq := flatEngine(b, 1)
	large, largeReq := flatEngine(b, *flatKeys)
	const block = 256
	var tSmall, tLarge time.Duration
	var bestSmall, bestLarge []time.Duration
	n := 0
	for b.Loop() {
		for _, side := range [2]bool{n%2 == 0, n%2 != 0} { // which goes first alternates too
			e, req, total, best := small, smallReq, &tSmall, &bestSmall
			if side {
				e, req, total, best = large, largeReq, &tLarge, &bestLarge
			}
			start := time.Now()
			for range block {
				e.Decide(req)
			}
			d := time.Since(start)
			*total += d
			*best = append(*best, d)
		}
		n++
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n*block) }
	fastest := func(ds []time.Duration) float64 { return float64(slices.Min(ds).Nanoseconds()) / block }
	b.ReportMetric(per(tSmall), "small-ns/op")
	b.ReportMetric(per(tLarge), "large-ns/op")
	b.ReportMetric(fastest(bestSmall), "small-p0-ns")
	b.ReportMetric(fastest(bestLarge), "large-p0-ns")
	b.ReportMetric(per(tLarge)/per(tSmall), "large/small")
}

// flatEngine is the engine a filter holds after applying a snapshot of keys keys (one route),
// and an allowed request with one of them.
func flatEngine(b *testing.B, keys int) (*engine.Engine, *engine.Request) {
	b.Helper()
	payload, err := snapshot.Encode(1, time.Now(), testpolicy.Large(keys, 1))
	if err != nil {
		b.Fatal(err)
	}
	s, err := snapshot.DecodeCompact(bytes.Clone(payload))
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.CompileWithKeys(s.Policy, s.Keys)
	if err != nil {
		b.Fatal(err)
	}
	return e, allowedRequest(b, e, keys, 1)
}
