package engine

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"unsafe"
)

// casAttempts bounds the compare-and-swap retries of one request against the other worker
// VMs. When they run out (the request's sets changed under it casAttempts times in a row), the
// request is refused like any rate-limited one, with Retry-After: 1, and LimitResult.Contended
// set so the filter counts it: a request that could not be counted is not let through
// uncounted, which would break the limit exactly when it is busiest.
const casAttempts = 8

// maxKeyBytes bounds an identity value a bucket is keyed by (a header's value); a longer one
// is refused with 400 rate_limit_key_too_long rather than hashed, so no client can make the
// filter hash megabytes per request.
const maxKeyBytes = 256

// maxCounted bounds the limits one request is counted against: a route's and a tier's.
const maxCounted = 16

// LimitResult is what the rate-limit and concurrency checks read and did for one request.
// It is kept small and flat (one allocation per request on a limited route): the states of
// the limits are computed from its records only when asked for (States).
type LimitResult struct {
	// Contended is true when the compare-and-swap retries ran out and the request was refused.
	Contended bool
	// Evicted counts buckets that were not full and were evicted to make room for new ones.
	Evicted int
	// Leases are the concurrency slots the request holds until its stream ends (ReleaseLeases).
	Leases []Lease
	// Global lists the limits still to be counted by the global rate-limit service.
	Global []GlobalLimit

	// records are the limits counted, the first two inline.
	n       int
	inline  [2]record
	more    []record
	counted bool // the tokens were taken (Refund puts them back)
	// denyEdits are the route's response edits for the filter's own replies, for a refusal
	// by the global service after this check allowed the request.
	denyEdits []HeaderEdit
	// edits and item back the allowed request's RateLimit headers on a route without other
	// response edits (the common case), so that they cost no allocation: the decision's
	// Response then points into r, and stays valid until r is used for another request.
	edits [2]HeaderEdit
	item  [rateItemBytes]byte
}

// rateItemBytes bounds a RateLimit list member: a quoted limit name (a tier's, a route's or
// a header's name, each bounded by the policy) and two decimal numbers.
const rateItemBytes = 160

// reset readies r for a new request, keeping the capacity of its lists. The RateLimit
// buffers (edits, item) are left as they are: rateHeaders overwrites what it uses.
func (r *LimitResult) reset() {
	r.Contended, r.Evicted, r.Leases, r.Global = false, 0, r.Leases[:0], r.Global[:0]
	r.n, r.inline, r.more, r.counted, r.denyEdits = 0, [2]record{}, r.more[:0], false, nil
}

// record is one limit as the request left it: its level after the request when it was let
// through, the level found when it was refused.
type record struct {
	l       *rateLimit
	value   uint64
	set     uint32
	level   int64
	refused bool
}

// countedAll records the buckets a request was counted against, at their levels after it.
func (r *LimitResult) countedAll(refs []counted) {
	for i := range refs {
		c := &refs[i]
		r.add(record{l: c.l, value: c.value, set: c.set, level: c.after})
	}
	r.counted = true
}

func (r *LimitResult) add(rec record) {
	if r.n < len(r.inline) {
		r.inline[r.n] = rec
	} else {
		r.more = append(r.more, rec)
	}
	r.n++
}

func (r *LimitResult) record(i int) *record {
	if i < len(r.inline) {
		return &r.inline[i]
	}
	return &r.more[i-len(r.inline)]
}

// States are the rate limits the request was counted against, in order.
func (r *LimitResult) States() []LimitState {
	out := make([]LimitState, r.n)
	for i := range out {
		out[i] = r.record(i).state()
	}
	return out
}

func (rec *record) state() LimitState {
	l := rec.l
	st := LimitState{Name: l.name, Bucket: rec.value, Limit: l.burst, Rate: l.rate, Per: l.per, Global: l.global}
	if l.rate == 0 {
		st.Refused = rec.refused
		return st
	}
	st.Remaining = max(0, rec.level/unitsPerToken)
	st.ResetSeconds = ceilSeconds(l.spec.untilFull(rec.level))
	if rec.refused {
		st.Refused = true
		st.RetryAfterSeconds = max(1, ceilSeconds(l.spec.untilToken(rec.level)))
	}
	return st
}

// LimitState is one rate limit as the request found it.
type LimitState struct {
	Name string // "api_key/second", or for a tier's limit "gold/api_key/hour"
	// Bucket identifies the bucket: the hash of the identity value (never the value itself).
	Bucket uint64
	Limit  int64 // the burst
	Rate   int64
	Per    string
	// Remaining is the whole tokens left after this request; ResetSeconds is how long until
	// the bucket is full again.
	Remaining, ResetSeconds int64
	// Refused is true for a limit that had no token; RetryAfterSeconds is then how long until
	// it has one (0 for rate 0: never).
	Refused           bool
	RetryAfterSeconds int64
	Global            bool
}

// taken is one token taken from a bucket, enough to put it back.
type taken struct {
	set          uint32
	scope, value uint64
	spec         bucketSpec
}

// counted is one limit the request counts against, during the transaction.
type counted struct {
	l     *rateLimit
	value uint64
	set   uint32
	idx   int   // index of its set in the transaction's sets
	off   int   // offset of its bucket in the set's value as read, -1 for none (findRaw)
	lvl   int64 // level found (before this request)
	after int64 // level after this request
}

// txn is the scratch space of one request's count: the limits, the sets read and the bytes
// written. Pooled, so that counting allocates nothing per request for them (a set is 3 KiB).
type txn struct {
	refs    [maxCounted]counted
	sets    []rateSet
	setIDs  [maxCounted]uint32
	raw     [maxCounted][]byte // the sets' values as read
	scratch []byte
	store   Counters
}

var txnPool = sync.Pool{New: func() any {
	return &txn{sets: make([]rateSet, 0, 2), scratch: make([]byte, 0, setHeader+maxEvicts*evictBytes+rateWays*bucketBytes)}
}}

func (c *rateCheck) onHeaders(f *flow) Code {
	tx := txnPool.Get().(*txn)
	defer txnPool.Put(tx)
	refs := tx.refs[:0]
	for i := range c.limits {
		code := f.addLimit(&refs, &c.limits[i])
		if code != "" {
			return code
		}
	}
	if c.tiers && f.identity != nil {
		for i := range f.identity.tier {
			if code := f.addLimit(&refs, &f.identity.tier[i]); code != "" {
				return code
			}
		}
	}
	if len(refs) == 0 && len(c.conc) == 0 {
		return ""
	}
	if f.r.Counters == nil {
		return CodeInternalError // the host must supply a store when UsesCounters
	}
	res := f.r.Limits
	if res == nil {
		res = &LimitResult{}
	} else {
		res.reset()
	}
	f.limits = res
	for i := range refs {
		if refs[i].l.rate == 0 {
			return f.refuse(c, refs, i) // refuses every request, touches no bucket
		}
	}
	if len(refs) > 0 {
		if code := f.countRate(tx, refs, res); code != "" {
			if code == codeRefused {
				return f.refuse(c, refs, -1)
			}
			return code
		}
	}
	if len(c.conc) > 0 {
		if code := f.acquire(c.conc, res); code != "" {
			Refund(f.r.Counters, res, f.now())
			return code
		}
	}
	for i := range refs {
		if refs[i].l.global {
			res.Global = append(res.Global, globalLimit(refs[i].l, refs[i].value))
		}
	}
	if len(res.Global) > 0 {
		res.denyEdits = f.resp
		if f.denyResp != nil {
			res.denyEdits = f.denyResp
		}
	}
	if len(refs) > 0 {
		f.rateHeaders(c, refs, res)
	}
	return ""
}

// countInPlace enables countRate's path for requests whose buckets all exist (countRaw);
// tests turn it off to compare it with the general path.
var countInPlace = true

// codeRefused is countRate's answer when a limit had no token (turned into the 429 by refuse).
const codeRefused Code = "\x00refused"

func (f *flow) now() int64 { return f.r.Now.UnixNano() }

// addLimit adds l to refs unless the request is exempt from it.
func (f *flow) addLimit(refs *[]counted, l *rateLimit) Code {
	for _, m := range l.exemptMethods {
		if f.r.Method == m {
			return ""
		}
	}
	for _, p := range l.exemptPrefixes {
		if hasPathPrefix(f.path, p) {
			return ""
		}
	}
	value, ok := f.identityHash(l)
	if !ok {
		return CodeRateLimitKeyTooLong
	}
	if len(*refs) == maxCounted {
		return CodeInternalError // policy bounds make this unreachable
	}
	*refs = append(*refs, counted{l: l, value: value, set: setOf(l.scope, value, rateSets)})
	return ""
}

// identityHash hashes the value the limit is keyed by. ok is false for a value longer than
// maxKeyBytes.
func (f *flow) identityHash(l *rateLimit) (uint64, bool) {
	h := fnvOffset
	switch l.by {
	case byIP:
		a, ok := f.clientAddr()
		if !ok {
			return fnvString(h, "?"), true // unknown clients share one bucket
		}
		return fnvAddr(h, a, f.e.ipv6Prefix), true
	case byAPIKey, byUser:
		id := f.identity
		if id == nil {
			return h, true // Compile places key limits on authenticated routes only
		}
		if l.by == byUser && id.UserID != "" || id.KeyID == "" {
			return fnvString(fnvString(h, "u:"), id.UserID), true
		}
		return fnvString(fnvString(h, "k:"), id.KeyID), true
	case byHeader:
		// Every occurrence, joined by commas, as the upstream would read a repeated header.
		n := 0
		for _, kv := range f.r.Headers {
			if kv[0] != l.header {
				continue
			}
			if n > 0 {
				h = fnvString(h, ",")
				n++
			}
			if n += len(kv[1]); n > maxKeyBytes {
				return 0, false
			}
			h = fnvString(h, kv[1])
		}
		return h, true
	}
	return h, true // by route: one bucket
}

// fnvAddr hashes an IPv4 address, or an IPv6 address's first prefix bits.
func fnvAddr(h uint64, a netip.Addr, prefix int) uint64 {
	if a.Is4() {
		b := a.As4()
		return fnvBytes(h, b[:])
	}
	if p, err := a.Prefix(prefix); err == nil {
		a = p.Addr()
	}
	b := a.As16()
	return fnvBytes(fnvString(h, "6"), b[:])
}

// countRate takes one token from every limit's bucket, or from none when one has no token.
// It reads every set involved, decides, then writes each changed set with compare-and-swap;
// when a write loses a race it puts back what the earlier writes took and starts over.
func (f *flow) countRate(tx *txn, refs []counted, res *LimitResult) Code {
	store, now := f.r.Counters, f.now()
	sets, setIDs := tx.sets[:0], &tx.setIDs
	tx.store = store
	defer func() { tx.sets, tx.store = sets[:0], nil }() // keep what grew for the next request
	for i := range refs {
		j := 0
		for j < len(sets) && setIDs[j] != refs[i].set {
			j++
		}
		if j == len(sets) {
			setIDs[j] = refs[i].set
			if len(sets) < cap(sets) {
				sets = sets[:len(sets)+1] // the pooled set: decode overwrites what it reads
			} else {
				sets = append(sets, rateSet{})
			}
		}
		refs[i].idx = j
	}
	raw := tx.raw[:len(sets)]
	defer clear(tx.raw[:]) // the values read belong to this request only
	for range casAttempts {
		fast := true
		for j := range sets {
			v, version, err := readRaw(store, setIDs[j])
			if err != nil {
				return CodeInternalError
			}
			raw[j], sets[j].version, sets[j].dirty = v, version, false
		}
		for i := range refs {
			r := &refs[i]
			if r.off = findRaw(raw[r.idx], r.l.scope, r.value); r.off < 0 {
				fast = false
			}
		}
		if fast && countInPlace {
			// Every bucket exists: only those are decoded and patched in a copy of the bytes
			// read (the same bytes decode and encode would write: no other bucket changes, and
			// no eviction record is touched when nothing is added).
			code, written, err := countRaw(tx, refs, raw, setIDs[:len(sets)], sets, now)
			if code != "" {
				return code
			}
			if err == nil {
				res.countedAll(refs)
				return ""
			}
			if !retryAfterRefund(store, refs, written, now, err) {
				return CodeInternalError
			}
			continue
		}
		for j := range sets {
			sets[j].decode(raw[j])
		}
		refused := false
		for i := range refs {
			r := &refs[i]
			s := &sets[r.idx]
			if w := s.find(r.l.scope, r.value); w >= 0 {
				r.lvl, _ = r.l.spec.level(s.ways[w].level, s.ways[w].at, now)
			} else {
				r.lvl = r.l.spec.initial(s.remembered(r.l.scope, now), now)
			}
			if r.lvl < unitsPerToken {
				refused = true
			}
		}
		if refused {
			return codeRefused
		}
		var pinned [maxCounted]uint64 // per set: the ways this request updates, never evicted
		evicted := 0
		for i := range refs {
			r := &refs[i]
			s := &sets[r.idx]
			w := s.find(r.l.scope, r.value)
			at := now
			if w >= 0 {
				at = max(s.ways[w].at, now)
			} else {
				var ev bool
				w, ev = s.addPinned(now, pinned[r.idx])
				if ev {
					evicted++
				}
			}
			pinned[r.idx] |= 1 << w
			r.after = r.lvl - unitsPerToken
			s.ways[w] = r.l.spec.bucket(r.l.scope, r.value, r.after, at)
			s.dirty = true
		}
		written := 0
		var err error
		for j := range sets {
			tx.scratch = sets[j].encode(tx.scratch[:0])
			if err = tx.storeSet(setIDs[j], sets[j].version); err != nil {
				break
			}
			written++
		}
		if err == nil {
			res.Evicted += evicted
			res.countedAll(refs)
			return ""
		}
		if !retryAfterRefund(store, refs, written, now, err) {
			return CodeInternalError
		}
	}
	res.Contended = true
	return codeRefused
}

// retryAfterRefund puts back what the sets already written (the first written) took after a
// write failed with err, and reports whether to start over: false for a store error, which
// fails closed.
func retryAfterRefund(store Counters, refs []counted, written int, now int64, err error) bool {
	var back [maxCounted]taken
	nb := 0
	for i := range refs {
		if refs[i].idx < written {
			back[nb] = taken{set: refs[i].set, scope: refs[i].l.scope, value: refs[i].value, spec: refs[i].l.spec}
			nb++
		}
	}
	refund(store, back[:nb], now)
	return errors.Is(err, ErrVersionMismatch)
}

// countRaw is one attempt of countRate when every bucket exists (refs[i].off locates each in
// raw, the sets' values as read): it decides from those buckets alone and writes each set
// with its buckets patched. code is codeRefused when a limit had no token; otherwise err is
// the first failed write, after written sets were written.
func countRaw(tx *txn, refs []counted, raw [][]byte, setIDs []uint32, sets []rateSet, now int64) (code Code, written int, err error) {
	refused := false
	for i := range refs {
		r := &refs[i]
		p := raw[r.idx][r.off:]
		r.lvl, _ = r.l.spec.level(i64(p[16:]), i64(p[24:]), now)
		if r.lvl < unitsPerToken {
			refused = true
		}
	}
	if refused {
		return codeRefused, 0, nil
	}
	for j := range setIDs {
		tx.scratch = append(tx.scratch[:0], raw[j]...)
		for i := range refs {
			r := &refs[i]
			if r.idx != j {
				continue
			}
			p := tx.scratch[r.off:]
			at := max(i64(p[24:]), now)
			r.after = r.lvl - unitsPerToken
			b := r.l.spec.bucket(r.l.scope, r.value, r.after, at)
			binary.LittleEndian.PutUint64(p[16:], uint64(b.level))
			binary.LittleEndian.PutUint64(p[24:], uint64(b.at))
			binary.LittleEndian.PutUint64(p[32:], uint64(b.zeroAt))
			binary.LittleEndian.PutUint64(p[40:], uint64(b.fullAt))
		}
		if err = tx.storeSet(setIDs[j], sets[j].version); err != nil {
			return "", j, err
		}
	}
	return "", len(setIDs), nil
}

// bucket builds the stored form of a bucket at level lvl at time at.
func (b bucketSpec) bucket(scope, value uint64, lvl, at int64) bucket {
	return bucket{scope: scope, value: value, level: lvl, at: at, zeroAt: b.zeroAt(lvl, at), fullAt: at + b.untilFull(lvl)}
}

// addPinned is add, never choosing a way in pinned (ways this request already updated).
func (s *rateSet) addPinned(now int64, pinned uint64) (int, bool) {
	if pinned == 0 || s.n < rateWays {
		return s.add(now)
	}
	// Move the pinned ways out of add's reach by choosing among the others ourselves.
	s.forget(now)
	victim := -1
	for i := 0; i < s.n; i++ {
		if pinned&(1<<i) == 0 && (victim < 0 || s.ways[i].fullAt < s.ways[victim].fullAt) {
			victim = i
		}
	}
	v := s.ways[victim]
	if v.fullAt <= now {
		return victim, false
	}
	s.remember(evicted{scope: v.scope, zeroAt: v.zeroAt, fullAt: v.fullAt})
	return victim, true
}

// readSet reads and decodes a set, creating it when it does not exist yet (see
// EnsureCounters: the filter creates every set up front, so this is a fallback).
func readSet(store Counters, id uint32, s *rateSet) error {
	v, version, err := readRaw(store, id)
	if err != nil {
		return err
	}
	s.decode(v)
	s.version, s.dirty = version, false
	return nil
}

// readRaw reads a set's value as stored, creating the set when it does not exist yet.
func readRaw(store Counters, id uint32) ([]byte, uint32, error) {
	key := rateKey(id)
	v, version, found, err := store.Get(key)
	if err == nil && !found {
		if err = store.Set(key, []byte{setFormat, 0}, 0); err == nil {
			v, version, _, err = store.Get(key)
		}
	}
	return v, version, err
}

// storeSet writes tx.scratch as set id with compare-and-swap on version.
func (tx *txn) storeSet(id uint32, version uint32) error {
	return tx.store.Set(rateKey(id), tx.scratch, version)
}

// refund puts one token back into each bucket, as if the request had never taken it. A bucket
// evicted in between gets nothing back (its eviction record already counts it as spent). When
// the retries run out the token stays taken: refunds err on the side of the limit.
func refund(store Counters, toks []taken, now int64) {
	for len(toks) > 0 {
		set := toks[0].set
		for range casAttempts {
			var s rateSet
			if readSet(store, set, &s) != nil {
				break
			}
			for _, t := range toks {
				if t.set != set {
					continue
				}
				if w := s.find(t.scope, t.value); w >= 0 {
					lvl, at := t.spec.level(s.ways[w].level, s.ways[w].at, now)
					lvl = min(lvl+unitsPerToken, t.spec.cap)
					s.ways[w] = t.spec.bucket(t.scope, t.value, lvl, at)
				}
			}
			var scratch [setHeader + maxEvicts*evictBytes + rateWays*bucketBytes]byte
			if err := store.Set(rateKey(set), s.encode(scratch[:0]), s.version); !errors.Is(err, ErrVersionMismatch) {
				break
			}
		}
		rest := toks[:0:0]
		for _, t := range toks {
			if t.set != set {
				rest = append(rest, t)
			}
		}
		toks = rest
	}
}

// Refund puts back the tokens an allowed request took, for a request that a later step (the
// global service) refused, so that it counts against none of its limits. Its concurrency
// slots are released with the stream, as always.
func Refund(store Counters, res *LimitResult, now int64) {
	if res == nil || !res.counted {
		return
	}
	var back [maxCounted]taken
	for i := 0; i < res.n; i++ {
		r := res.record(i)
		back[i] = taken{set: r.set, scope: r.l.scope, value: r.value, spec: r.l.spec}
	}
	refund(store, back[:res.n], now)
	res.counted = false
}

// refuse builds the 429 for a request that limit i (a rate-0 limit), or when i < 0 the
// limits without a token in countRate's levels, refused: Retry-After is the longest wait among
// the refusing limits, the RateLimit header names the refusing limit that frees last.
func (f *flow) refuse(c *rateCheck, refs []counted, i int) Code {
	res := f.limits
	worst, wait := -1, int64(-1)
	for j := range refs {
		r := &refs[j]
		if i >= 0 && j != i {
			continue // a rate-0 limit refused before any bucket was read
		}
		rec := record{l: r.l, value: r.value, set: r.set, level: r.lvl,
			refused: !res.Contended && (r.l.rate == 0 || r.lvl < unitsPerToken)}
		res.add(rec)
		if !rec.refused {
			continue
		}
		retry := int64(0) // rate 0: never
		if r.l.rate > 0 {
			retry = max(1, ceilSeconds(r.l.spec.untilToken(r.lvl)))
		}
		if worst < 0 || retry > wait {
			worst, wait = j, retry
		}
	}
	if res.Contended {
		wait = 1
	}
	var edits [3]HeaderEdit
	n := 0
	if wait > 0 {
		edits[n] = HeaderEdit{Mode: EditSet, Name: "retry-after", Value: strconv.FormatInt(wait, 10)}
		n++
	}
	if worst >= 0 {
		r := &refs[worst]
		edits[n] = HeaderEdit{Mode: EditSet, Name: "ratelimit", Value: rateLimitItem(r.l, 0, ceilSeconds(r.l.spec.untilFull(r.lvl)))}
		n++
	}
	edits[n] = HeaderEdit{Mode: EditSet, Name: "ratelimit-policy", Value: f.policyHeader(c, refs)}
	n++
	f.addResponseEdits(edits[:n])
	return CodeRateLimited
}

// rateHeaders adds RateLimit and RateLimit-Policy to the allowed request's response: the
// limit with the fewest tokens left (on a tie, the one that takes longest to refill) and every
// limit counted.
//
// On a route without other response edits (the common case) both edits and the RateLimit
// value live in res, the request's LimitResult, and cost no allocation.
func (f *flow) rateHeaders(c *rateCheck, refs []counted, res *LimitResult) {
	best, bestLeft, bestReset := 0, int64(-1), int64(0)
	for j := range refs {
		r := &refs[j]
		left, reset := r.after/unitsPerToken, r.l.spec.untilFull(r.after)
		if bestLeft < 0 || left < bestLeft || left == bestLeft && reset > bestReset {
			best, bestLeft, bestReset = j, left, reset
		}
	}
	l := refs[best].l
	if len(f.resp) == 0 && f.denyResp == nil {
		b := appendRateLimitItem(res.item[:0], l, bestLeft, ceilSeconds(bestReset))
		var value string
		if len(b) <= len(res.item) && &b[0] == &res.item[0] {
			value = unsafe.String(&res.item[0], len(b))
		} else {
			value = string(b) // the item outgrew res.item (not within the policy's bounds)
		}
		res.edits = [2]HeaderEdit{
			{Mode: EditSet, Name: "ratelimit", Value: value},
			{Mode: EditSet, Name: "ratelimit-policy", Value: f.policyHeader(c, refs)},
		}
		f.resp = res.edits[:]
		return
	}
	edits := [2]HeaderEdit{
		{Mode: EditSet, Name: "ratelimit", Value: rateLimitItem(l, bestLeft, ceilSeconds(bestReset))},
		{Mode: EditSet, Name: "ratelimit-policy", Value: f.policyHeader(c, refs)},
	}
	f.addResponseEdits(edits[:])
}

// rateLimitItem is a RateLimit list member: `"api_key/second";r=4;t=2`.
func rateLimitItem(l *rateLimit, remaining, reset int64) string {
	var buf [96]byte
	return string(appendRateLimitItem(buf[:0], l, remaining, reset))
}

// appendRateLimitItem appends rateLimitItem's value to b.
func appendRateLimitItem(b []byte, l *rateLimit, remaining, reset int64) []byte {
	b = append(b, l.itemPrefix...)
	b = strconv.AppendInt(b, remaining, 10)
	if l.rate > 0 {
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, reset, 10)
	}
	return b
}

// policyHeader is the RateLimit-Policy value: the route's limits (precompiled) and, when the
// identity's tier counted too, its limits after them.
func (f *flow) policyHeader(c *rateCheck, refs []counted) string {
	if len(refs) == len(c.limits) {
		return c.policyHeader
	}
	v := ""
	for _, r := range refs {
		if v != "" {
			v += ", "
		}
		v += r.l.policyItem
	}
	return v
}

// addResponseEdits adds edits to the response headers of the request, allowed or refused,
// without touching the route's shared slices.
func (f *flow) addResponseEdits(edits []HeaderEdit) {
	f.resp = joinEdits(f.resp, edits)
	if f.denyResp != nil {
		f.denyResp = joinEdits(f.denyResp, edits)
	}
}

// joinEdits returns a new slice holding a then b, in one allocation.
func joinEdits(a, b []HeaderEdit) []HeaderEdit {
	out := make([]HeaderEdit, len(a)+len(b))
	copy(out[copy(out, a):], b)
	return out
}
