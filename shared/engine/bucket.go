package engine

// Token buckets in exact integer arithmetic. A bucket's level is counted in units: one token
// is unitsPerToken units, the number of nanoseconds in an hour, so that every rate refills a
// whole number of units per nanosecond (rate·3600 per ns for "per second", rate·60 for
// "minute", rate for "hour"). Levels and refills never round, so over any interval t a bucket
// hands out at most burst + rate·t tokens, exactly.
const unitsPerToken int64 = 3_600_000_000_000

// bucketSpec is a limit's bucket: its capacity and refill, in units.
type bucketSpec struct {
	cap    int64 // burst·unitsPerToken; ≤ 3.6e18 with burst ≤ 1,000,000
	refill int64 // units per nanosecond; 0 for rate 0
}

func newBucketSpec(rate, burst, perSeconds int64) bucketSpec {
	return bucketSpec{cap: burst * unitsPerToken, refill: rate * (3600 / perSeconds)}
}

// level is the bucket's level at now, given level a stored at time t. A clock that went
// backwards (now < t) mints nothing: the level stays what it was and the stored time stays t,
// so the time between now and t is not credited twice once the clock is past t again.
func (b bucketSpec) level(a, t, now int64) (level, at int64) {
	if a > b.cap {
		a = b.cap // the policy lowered the burst
	}
	if now <= t {
		return a, t
	}
	if a >= b.cap || b.refill == 0 {
		return a, now
	}
	// dt·refill ≥ need, written without the multiplication that could overflow.
	need := b.cap - a
	if dt := now - t; dt >= ceilDiv(need, b.refill) {
		return b.cap, now
	} else {
		return a + dt*b.refill, now
	}
}

// initial is the level of a bucket created at now in a set whose evicted buckets of the same
// limit could have held, at most, what a bucket empty at zeroAt holds now (see table.go).
// zeroAt 0 means nothing was evicted: a new bucket is full.
func (b bucketSpec) initial(zeroAt, now int64) int64 {
	if zeroAt == 0 {
		return b.cap
	}
	if now <= zeroAt {
		return 0
	}
	lvl, _ := b.level(0, zeroAt, now)
	return lvl
}

// untilToken is how long, in nanoseconds, until a bucket at level a holds one whole token.
func (b bucketSpec) untilToken(a int64) int64 {
	if a >= unitsPerToken {
		return 0
	}
	return ceilDiv(unitsPerToken-a, b.refill)
}

// untilFull is how long, in nanoseconds, until a bucket at level a is full again.
func (b bucketSpec) untilFull(a int64) int64 {
	if a >= b.cap {
		return 0
	}
	return ceilDiv(b.cap-a, b.refill)
}

// zeroAt is the time at which a bucket at level a at time t was empty, rounded up (later), so
// that a bucket created empty at that time never holds more than this one.
func (b bucketSpec) zeroAt(a, t int64) int64 {
	return t - a/b.refill
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int64) int64 {
	return a/b + min(1, a%b)
}

// ceilSeconds rounds nanoseconds up to whole seconds.
func ceilSeconds(ns int64) int64 { return ceilDiv(ns, 1_000_000_000) }
