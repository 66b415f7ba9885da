package engine

import (
	"encoding/binary"
	"strconv"
)

// The rate-limit table. Shared data entries cannot be deleted, so buckets live in a fixed
// table: rateSets entries, each a set of at most rateWays buckets. A bucket belongs to the set
// its (limit, identity) hash picks, and stores that full 128-bit hash (the limit's scope hash
// and the identity's value hash), so two identities in one set never share a bucket.
//
// A set is full when it holds rateWays buckets. A new bucket then replaces one, chosen so that
// no identity gains tokens by being evicted:
//
//   - a full bucket first (it holds nothing a new bucket would not: evicting it is lossless);
//   - otherwise the bucket closest to full, and the set remembers, for that limit, the time
//     zeroAt at which the evicted bucket was empty. Every bucket of that limit created in the
//     set afterwards starts with what a bucket empty at zeroAt holds by now, which is at least
//     as little as the evicted identity would have had — so an evicted identity that comes
//     back gains nothing, and an identity seen for the first time may start with less than a
//     full bucket while the set is overloaded. The memory fades as soon as such a bucket would
//     be full again.
//
// Capacity: 4,096 sets × 64 buckets = 262,144 buckets per Envoy process. 100,000 identities
// put about 24 buckets in a set on average; a set overflows only past 64 (tested: 100,000
// distinct identities, no eviction). Few large sets rather than many small ones because every
// set is created up front (EnsureCounters) and a set's size on the request path grows only
// with the buckets it holds.
const (
	rateSets    = 4096
	rateWays    = 64
	setFormat   = 1
	setHeader   = 2           // format byte, eviction-memory count
	evictBytes  = 24          // scope, zeroAt, fullAt
	maxEvicts   = 4           // remembered evictions per set; more merge into a wildcard
	bucketBytes = 6 * 8       // scope, value, level, time, zeroAt, fullAt
	ratePrefix  = "pc.rl."    // shared-data key prefix of the rate-limit sets
	tableMarker = "pc.tables" // written once every set exists (EnsureCounters)
)

// bucket is one way of a set.
type bucket struct {
	scope, value uint64
	level, at    int64 // level in units at time at (ns)
	// zeroAt and fullAt are when this bucket was empty and when it will be full, for
	// eviction decisions (computed from its limit when it is written).
	zeroAt, fullAt int64
}

// evicted remembers that a bucket of limit scope, empty at zeroAt, was evicted; it matters
// until fullAt. scope 0 is a wildcard that applies to every limit.
type evicted struct {
	scope          uint64
	zeroAt, fullAt int64
}

// rateSet is a decoded set. It lives on the stack of the check.
type rateSet struct {
	n       int
	ways    [rateWays]bucket
	nEvict  int
	evicts  [maxEvicts]evicted
	version uint32 // the store's version of the entry, for the compare-and-swap
	dirty   bool
}

// rateKeys are the sets' shared-data keys, built once.
var rateKeys = func() []string {
	keys := make([]string, rateSets)
	for i := range keys {
		keys[i] = ratePrefix + strconv.FormatUint(uint64(i), 36)
	}
	return keys
}()

func rateKey(set uint32) string { return rateKeys[set] }

// decode reads a set; anything malformed reads as an empty set (only this code writes them).
func (s *rateSet) decode(b []byte) {
	s.n, s.nEvict = 0, 0
	if len(b) < setHeader || b[0] != setFormat {
		return
	}
	ne := int(b[1])
	nb := (len(b) - setHeader - ne*evictBytes) / bucketBytes
	if ne > maxEvicts || nb < 0 || nb > rateWays || setHeader+ne*evictBytes+nb*bucketBytes != len(b) {
		return
	}
	p := b[setHeader:]
	for i := 0; i < ne; i++ {
		s.evicts[i] = evicted{scope: u64(p), zeroAt: i64(p[8:]), fullAt: i64(p[16:])}
		p = p[evictBytes:]
	}
	for i := 0; i < nb; i++ {
		s.ways[i] = bucket{scope: u64(p), value: u64(p[8:]), level: i64(p[16:]), at: i64(p[24:]), zeroAt: i64(p[32:]), fullAt: i64(p[40:])}
		p = p[bucketBytes:]
	}
	s.n, s.nEvict = nb, ne
}

// findRaw locates the bucket (scope, value) in a set's stored value b without decoding it:
// the offset of its bytes, or -1 when the set does not hold it or b is malformed (which
// decode reads as an empty set).
func findRaw(b []byte, scope, value uint64) int {
	if len(b) < setHeader || b[0] != setFormat {
		return -1
	}
	ne := int(b[1])
	nb := (len(b) - setHeader - ne*evictBytes) / bucketBytes
	if ne > maxEvicts || nb < 0 || nb > rateWays || setHeader+ne*evictBytes+nb*bucketBytes != len(b) {
		return -1
	}
	for off := setHeader + ne*evictBytes; off < len(b); off += bucketBytes {
		if u64(b[off:]) == scope && u64(b[off+8:]) == value {
			return off
		}
	}
	return -1
}

func (s *rateSet) encode(buf []byte) []byte {
	buf = append(buf, setFormat, byte(s.nEvict))
	for _, e := range s.evicts[:s.nEvict] {
		buf = binary.LittleEndian.AppendUint64(buf, e.scope)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.zeroAt))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.fullAt))
	}
	for _, w := range s.ways[:s.n] {
		buf = binary.LittleEndian.AppendUint64(buf, w.scope)
		buf = binary.LittleEndian.AppendUint64(buf, w.value)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(w.level))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(w.at))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(w.zeroAt))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(w.fullAt))
	}
	return buf
}

func (s *rateSet) find(scope, value uint64) int {
	for i := 0; i < s.n; i++ {
		if s.ways[i].scope == scope && s.ways[i].value == value {
			return i
		}
	}
	return -1
}

// remembered is the zeroAt a new bucket of limit scope starts from (0: none).
func (s *rateSet) remembered(scope uint64, now int64) int64 {
	var z int64
	for _, e := range s.evicts[:s.nEvict] {
		if (e.scope == scope || e.scope == 0) && e.fullAt > now {
			z = max(z, e.zeroAt)
		}
	}
	return z
}

// add makes room for a new bucket and returns its index, and whether a bucket that was not
// full had to be evicted.
func (s *rateSet) add(now int64) (int, bool) {
	s.forget(now)
	if s.n < rateWays {
		s.n++
		return s.n - 1, false
	}
	victim := 0
	for i := 1; i < s.n; i++ {
		if s.ways[i].fullAt < s.ways[victim].fullAt {
			victim = i
		}
	}
	v := s.ways[victim]
	if v.fullAt <= now {
		return victim, false // full: nothing to remember
	}
	s.remember(evicted{scope: v.scope, zeroAt: v.zeroAt, fullAt: v.fullAt})
	return victim, true
}

// remember records an eviction, merging with the same limit's record or, when the records
// are all taken, into the wildcard (which then restrains every limit of the set: safe, and
// rare — it takes evictions of five different limits in one set within a refill period).
func (s *rateSet) remember(e evicted) {
	for i := range s.evicts[:s.nEvict] {
		if r := &s.evicts[i]; r.scope == e.scope {
			r.zeroAt, r.fullAt = max(r.zeroAt, e.zeroAt), max(r.fullAt, e.fullAt)
			return
		}
	}
	if s.nEvict < maxEvicts-1 {
		s.evicts[s.nEvict] = e
		s.nEvict++
		return
	}
	// The last record is the wildcard.
	if s.nEvict == maxEvicts-1 {
		s.evicts[s.nEvict] = evicted{}
		s.nEvict++
	}
	w := &s.evicts[maxEvicts-1]
	w.scope, w.zeroAt, w.fullAt = 0, max(w.zeroAt, e.zeroAt), max(w.fullAt, e.fullAt)
}

// forget drops eviction records that no longer restrain anything.
func (s *rateSet) forget(now int64) {
	kept := 0
	for _, e := range s.evicts[:s.nEvict] {
		if e.fullAt > now {
			s.evicts[kept] = e
			kept++
		}
	}
	s.nEvict = kept
}

func u64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
func i64(b []byte) int64  { return int64(binary.LittleEndian.Uint64(b)) }

// FNV-1a, 64 bits: the hash of limit scopes and identity values. Scopes come from the policy;
// a client choosing its identity value (a header) can at most collide with another value of
// the same limit, whose bucket it could reach by sending that value anyway — the bucket also
// records the scope, so no value reaches another limit's buckets.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// setOf picks the set of a bucket: a finalizer mixes both hashes so that the buckets of one
// identity under different limits spread over different sets.
func setOf(scope, value uint64, sets uint32) uint32 {
	x := scope ^ (value * 0x9e3779b97f4a7c15)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x % uint64(sets))
}
