package engine

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// Concurrency limits count the requests of one identity in flight, from the request headers
// to the end of the stream, in a fixed table like the rate limits' (concSets sets of concWays
// slots). A slot lists its holders: each worker VM (by a random owner id drawn when the VM
// starts) with how many of the identity's requests it has in flight and when it last renewed
// them. A VM renews its holders every RenewEvery; a holder not renewed for LeaseTTL belongs to
// a VM that is gone (crashed, reloaded) and no longer counts, so a slot never leaks for good.
const (
	concSets   = 1024
	concWays   = 64
	maxHolders = 64
	concPrefix = "pc.cc."
	holderSize = 20 // owner, count, renewed
	// LeaseTTL is how long a holder counts without being renewed.
	LeaseTTL = 60 * time.Second
	// RenewEvery is how often a VM must renew the holders of its requests in flight.
	RenewEvery = 15 * time.Second
)

// concLimit is a compiled policy.ConcurrencyLimit.
type concLimit struct {
	by     byKind
	header string
	scope  uint64
	limit  int64
	name   string
}

func compileConcLimit(m *policy.ConcurrencyLimit, route string) concLimit {
	c := concLimit{limit: m.Limit, name: m.By}
	c.by, c.header = parseBy(m.By)
	c.scope = fnvString(fnvString(fnvOffset, "c:"+route+"\x00"), m.By)
	return c
}

// Lease is one concurrency slot a request holds until its stream ends.
type Lease struct {
	set          uint32
	scope, value uint64
}

type holder struct {
	owner   uint64
	count   uint32
	renewed int64
}

type concSlot struct {
	scope, value uint64
	n            int
	holders      [maxHolders]holder
}

type concSet struct {
	n       int
	slots   [concWays]concSlot
	version uint32
}

func concKey(set uint32) string { return concPrefix + strconv.FormatUint(uint64(set), 36) }

// live is the number of requests in flight in the slot at now, and it drops dead holders.
func (s *concSlot) live(now int64) int64 {
	var total int64
	kept := 0
	for _, h := range s.holders[:s.n] {
		if h.count > 0 && now-h.renewed < int64(LeaseTTL) {
			s.holders[kept] = h
			kept++
			total += int64(h.count)
		}
	}
	s.n = kept
	return total
}

func (s *concSet) decode(b []byte) {
	s.n = 0
	if len(b) < 2 || b[0] != setFormat {
		return
	}
	n := int(b[1])
	p := b[2:]
	for i := 0; i < n && i < concWays; i++ {
		if len(p) < 17 {
			s.n = 0
			return
		}
		sl := &s.slots[i]
		sl.scope, sl.value, sl.n = u64(p), u64(p[8:]), int(p[16])
		p = p[17:]
		if sl.n > maxHolders || len(p) < sl.n*holderSize {
			s.n = 0
			return
		}
		for j := 0; j < sl.n; j++ {
			sl.holders[j] = holder{owner: u64(p), count: binary.LittleEndian.Uint32(p[8:]), renewed: i64(p[12:])}
			p = p[holderSize:]
		}
		s.n = i + 1
	}
}

func (s *concSet) encode() []byte {
	size := 2
	for _, sl := range s.slots[:s.n] {
		size += 17 + sl.n*holderSize
	}
	buf := make([]byte, 0, size)
	buf = append(buf, setFormat, byte(s.n))
	for _, sl := range s.slots[:s.n] {
		buf = binary.LittleEndian.AppendUint64(buf, sl.scope)
		buf = binary.LittleEndian.AppendUint64(buf, sl.value)
		buf = append(buf, byte(sl.n))
		for _, h := range sl.holders[:sl.n] {
			buf = binary.LittleEndian.AppendUint64(buf, h.owner)
			buf = binary.LittleEndian.AppendUint32(buf, h.count)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(h.renewed))
		}
	}
	return buf
}

func readConcSet(store Counters, id uint32, s *concSet) error {
	key := concKey(id)
	v, version, found, err := store.Get(key)
	if err == nil && !found {
		if err = store.Set(key, []byte{setFormat, 0}, 0); err == nil {
			v, version, found, err = store.Get(key)
		}
	}
	if err != nil {
		return err
	}
	s.decode(v)
	s.version = version
	return nil
}

// slotFor finds the identity's slot, or makes one: a slot without live holders is free.
func (s *concSet) slotFor(scope, value uint64, now int64) *concSlot {
	free := -1
	for i := 0; i < s.n; i++ {
		sl := &s.slots[i]
		if sl.scope == scope && sl.value == value {
			return sl
		}
		if free < 0 && sl.live(now) == 0 {
			free = i
		}
	}
	if free < 0 {
		if s.n == concWays {
			return nil
		}
		free = s.n
		s.n++
	}
	sl := &s.slots[free]
	*sl = concSlot{scope: scope, value: value}
	return sl
}

// acquire takes a slot of every concurrency limit, or none. A full set (concWays identities
// of this set all with requests in flight) refuses like a reached limit: admitting the
// request uncounted could exceed the limit.
func (f *flow) acquire(limits []concLimit, res *LimitResult) Code {
	store, now, owner := f.r.Counters, f.now(), f.r.Owner
	for i := range limits {
		l := &limits[i]
		value, ok := f.identityHash(&rateLimit{by: l.by, header: l.header})
		if !ok {
			ReleaseLeases(store, owner, res.Leases, now)
			res.Leases = nil
			return CodeRateLimitKeyTooLong
		}
		lease := Lease{set: setOf(l.scope, value, concSets), scope: l.scope, value: value}
		code := acquireOne(store, lease, l.limit, owner, now)
		if code != "" {
			if code == codeRefused {
				res.Contended = true
				code = CodeConcurrencyLimited
			}
			ReleaseLeases(store, owner, res.Leases, now)
			res.Leases = nil
			return code
		}
		res.Leases = append(res.Leases, lease)
	}
	return ""
}

func acquireOne(store Counters, lease Lease, limit int64, owner uint64, now int64) Code {
	for range casAttempts {
		var s concSet
		if readConcSet(store, lease.set, &s) != nil {
			return CodeInternalError
		}
		sl := s.slotFor(lease.scope, lease.value, now)
		if sl == nil || sl.live(now) >= limit {
			return CodeConcurrencyLimited
		}
		mine := -1
		for j := range sl.holders[:sl.n] {
			if sl.holders[j].owner == owner {
				mine = j
			}
		}
		if mine < 0 {
			if sl.n == maxHolders {
				return CodeConcurrencyLimited
			}
			mine = sl.n
			sl.holders[mine] = holder{owner: owner}
			sl.n++
		}
		sl.holders[mine].count++
		sl.holders[mine].renewed = now
		err := store.Set(concKey(lease.set), s.encode(), s.version)
		if err == nil {
			return ""
		}
		if !errors.Is(err, ErrVersionMismatch) {
			return CodeInternalError
		}
	}
	return codeRefused
}

// ReleaseLeases gives back the slots of a request whose stream ended, however it ended. A
// release that cannot be written (retries exhausted, a store error) is left to expire with the
// VM's holder; the error says so.
func ReleaseLeases(store Counters, owner uint64, leases []Lease, now int64) error {
	var firstErr error
	for _, l := range leases {
		if err := updateHolder(store, l, owner, now, -1); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// RenewLeases marks this VM's holders of the given slots (with how many requests it has in
// flight in each) as alive at now; the filter calls it every RenewEvery for its streams.
func RenewLeases(store Counters, owner uint64, held map[Lease]int, now int64) error {
	var firstErr error
	for l, n := range held {
		if err := updateHolder(store, l, owner, now, n); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

var errRetries = errors.New("compare-and-swap retries ran out")

// updateHolder changes this owner's holder of a slot: delta -1 releases one request; n ≥ 0
// renews with n requests in flight (re-creating the holder if it had been expired).
func updateHolder(store Counters, l Lease, owner uint64, now int64, n int) error {
	for range casAttempts {
		var s concSet
		if err := readConcSet(store, l.set, &s); err != nil {
			return err
		}
		var sl *concSlot
		for i := 0; i < s.n; i++ {
			if s.slots[i].scope == l.scope && s.slots[i].value == l.value {
				sl = &s.slots[i]
			}
		}
		if sl == nil && n < 0 {
			return nil // the slot was reused after this holder expired: nothing to release
		}
		if sl == nil {
			if sl = s.slotFor(l.scope, l.value, now); sl == nil {
				return errors.New("concurrency set full")
			}
		}
		mine := -1
		for j := range sl.holders[:sl.n] {
			if sl.holders[j].owner == owner {
				mine = j
			}
		}
		switch {
		case n < 0 && mine < 0:
			return nil
		case n < 0:
			if sl.holders[mine].count > 0 {
				sl.holders[mine].count--
			}
		case mine < 0:
			if sl.n == maxHolders || n == 0 {
				return nil
			}
			sl.holders[sl.n] = holder{owner: owner, count: uint32(n), renewed: now}
			sl.n++
		default:
			sl.holders[mine].count, sl.holders[mine].renewed = uint32(n), now
		}
		sl.live(now) // drops this holder when it reached 0, and dead ones
		err := store.Set(concKey(l.set), s.encode(), s.version)
		if err == nil || !errors.Is(err, ErrVersionMismatch) {
			return err
		}
	}
	return errRetries
}

// EnsureCounters creates every entry of the rate-limit and concurrency tables that does not
// exist yet, then a marker, so that the request path only ever updates entries with
// compare-and-swap. Why up front: proxy-wasm has no create-if-absent — a write to a missing
// key succeeds whatever the cas — so two VMs creating one entry at the same time could each
// write, and the second would erase the first's update. Created here, before this VM counts
// anything, an entry can only be created twice while no VM has counted in it yet (every VM
// runs this to the end before its first count), and writing an empty set over an empty set
// loses nothing. The one remaining window — a VM stalled between its read and its write of one
// entry while another VM finishes the whole table and counts a request in that very entry —
// is the ABI's limit, documented in the README. Once the marker exists, later VMs skip it.
func EnsureCounters(store Counters) error {
	if _, _, found, err := store.Get(tableMarker); err != nil || found {
		return err
	}
	empty := []byte{setFormat, 0}
	for _, t := range []struct {
		n   uint32
		key func(uint32) string
	}{{rateSets, rateKey}, {concSets, concKey}} {
		for i := uint32(0); i < t.n; i++ {
			k := t.key(i)
			_, _, found, err := store.Get(k)
			if err != nil {
				return err
			}
			if !found {
				if err := store.Set(k, empty, 0); err != nil {
					return err
				}
			}
		}
	}
	return store.Set(tableMarker, []byte("1"), 0)
}
