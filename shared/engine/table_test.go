package engine

import (
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

var tt0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func compileDoc(t testing.TB, doc string) *Engine {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const oneHeaderLimit = `{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
  "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 2}]}]}`

// sameSet returns n client names whose buckets fall in one set.
func sameSet(e *Engine, n int) []string {
	l := &e.routes[0].checks[len(e.routes[0].checks)-1].(*rateCheck).limits[0]
	bySet := map[uint32][]string{}
	for i := 0; ; i++ {
		c := "client-" + strconv.Itoa(i)
		set := setOf(l.scope, fnvString(fnvOffset, c), rateSets)
		bySet[set] = append(bySet[set], c)
		if len(bySet[set]) == n {
			return bySet[set]
		}
	}
}

func decideAs(e *Engine, store Counters, at time.Time, client string) Decision {
	return e.Decide(&Request{Method: "GET", Authority: "a", Path: "/", Headers: [][2]string{{"x-client", client}}, Now: at, Counters: store})
}

// An evicted identity must not gain tokens it would not have had: it comes back to the
// bucket its eviction left, not a full one.
func TestEvictedIdentityGainsNothing(t *testing.T) {
	e := compileDoc(t, oneHeaderLimit)
	store := NewMemoryCounters()
	clients := sameSet(e, rateWays+1)
	// Sixteen clients fill the set and empty their buckets, one nanosecond apart so the
	// first is the eviction candidate (closest to full).
	for i, c := range clients[:rateWays] {
		at := tt0.Add(time.Duration(i))
		for j := 0; j < 2; j++ {
			if d := decideAs(e, store, at, c); !d.Allow {
				t.Fatalf("%s request %d refused", c, j)
			}
		}
	}
	// A seventeenth client gets a full bucket (nothing was evicted before it), and evicts one.
	newcomer := clients[rateWays]
	d := decideAs(e, store, tt0.Add(time.Second), newcomer)
	if !d.Allow || d.Limits.Evicted != 1 {
		t.Fatalf("newcomer: allow %v, evicted %d", d.Allow, d.Limits.Evicted)
	}
	// Every one of the sixteen, evicted or not, is still empty.
	for _, c := range clients[:rateWays] {
		if d := decideAs(e, store, tt0.Add(2*time.Second), c); d.Allow {
			t.Fatalf("%s gained a token by being evicted", c)
		}
	}
	// An hour later each has exactly the one token it earned.
	at := tt0.Add(time.Hour + time.Minute)
	for _, c := range clients[:4] {
		if d := decideAs(e, store, at, c); !d.Allow {
			t.Fatalf("%s refused after earning a token", c)
		}
		if d := decideAs(e, store, at, c); d.Allow {
			t.Fatalf("%s got two tokens for one hour", c)
		}
	}
}

// A full bucket carries no information: evicting it is lossless and remembers nothing.
func TestEvictingFullBucketsIsLossless(t *testing.T) {
	e := compileDoc(t, oneHeaderLimit)
	store := NewMemoryCounters()
	clients := sameSet(e, rateWays+1)
	for _, c := range clients[:rateWays] {
		decideAs(e, store, tt0, c)
	}
	later := tt0.Add(2 * time.Hour) // every bucket is full again
	d := decideAs(e, store, later, clients[rateWays])
	if !d.Allow || d.Limits.Evicted != 0 {
		t.Fatalf("allow %v, evicted (non-full) %d", d.Allow, d.Limits.Evicted)
	}
	for _, c := range clients {
		if d := decideAs(e, store, later, c); !d.Allow {
			t.Fatalf("%s refused: a lossless eviction left a mark", c)
		}
	}
}

// 100,000 distinct identities are all tracked exactly (no eviction), within the documented
// memory: about 48 bytes a bucket plus the fixed table.
func TestHundredThousandIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("capacity test")
	}
	const n = 100_000
	e := compileDoc(t, oneHeaderLimit)
	store := NewMemoryCounters()
	if err := EnsureCounters(store); err != nil {
		t.Fatal(err)
	}
	_, base := store.Len()
	evicted := 0
	for round := 0; round < 3; round++ {
		for i := 0; i < n; i++ {
			d := decideAs(e, store, tt0, "id-"+strconv.Itoa(i))
			if d.Allow != (round < 2) {
				t.Fatalf("round %d identity %d: allow %v", round, i, d.Allow)
			}
			evicted += d.Limits.Evicted
		}
	}
	if evicted != 0 {
		t.Fatalf("%d evictions at %d identities", evicted, n)
	}
	entries, bytes := store.Len()
	perIdentity := float64(bytes-base) / n
	t.Logf("%d entries, %d bytes (%d for the empty tables), %.1f bytes per identity", entries, bytes, base, perIdentity)
	if entries != rateSets+concSets+1 || perIdentity > bucketBytes+1 {
		t.Fatalf("%d entries and %.1f bytes per identity; documented: %d entries, %d bytes a bucket", entries, perIdentity, rateSets+concSets+1, bucketBytes)
	}
}

func TestSetEncodingRoundTrip(t *testing.T) {
	var s rateSet
	s.n, s.nEvict = 2, 1
	s.ways[0] = bucket{1, 2, 3, 4, 5, 6}
	s.ways[1] = bucket{7, 8, -9, 10, 11, 12}
	s.evicts[0] = evicted{13, 14, 15}
	b := s.encode(nil)
	var got rateSet
	got.decode(b)
	if got.n != 2 || got.nEvict != 1 || got.ways[1] != s.ways[1] || got.evicts[0] != s.evicts[0] {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{nil, {2, 0}, {setFormat, 9}, append(b, 0)} {
		got.decode(bad)
		if got.n != 0 || got.nEvict != 0 {
			t.Fatalf("malformed %v decoded as %d buckets", bad, got.n)
		}
	}
}

// Eviction records beyond maxEvicts merge into a wildcard that restrains every limit.
func TestEvictionRecordsMergeIntoWildcard(t *testing.T) {
	var s rateSet
	for i := uint64(1); i <= 6; i++ {
		s.remember(evicted{scope: i, zeroAt: int64(i * 10), fullAt: 1000})
	}
	if s.nEvict != maxEvicts || s.evicts[maxEvicts-1].scope != 0 || s.evicts[maxEvicts-1].zeroAt != 60 {
		t.Fatalf("records %+v", s.evicts[:s.nEvict])
	}
	if z := s.remembered(99, 0); z != 60 {
		t.Fatalf("an unknown limit starts from %d, want the wildcard's 60", z)
	}
	if z := s.remembered(1, 0); z != 60 {
		t.Fatalf("limit 1 starts from %d, want the stricter wildcard's 60", z)
	}
	s.forget(1000)
	if s.nEvict != 0 {
		t.Fatal("records kept after every evicted bucket would be full")
	}
}

// A concurrency set whose 64 slots all have requests in flight refuses a 65th identity rather
// than admit it uncounted.
func TestConcurrencySetFullRefuses(t *testing.T) {
	e := compileDoc(t, `{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
	  "max_concurrent": [{"by": "header:x-client", "limit": 1}]}]}`)
	l := &e.routes[0].checks[len(e.routes[0].checks)-1].(*rateCheck).conc[0]
	bySet := map[uint32][]string{}
	var clients []string
	for i := 0; clients == nil; i++ {
		c := "client-" + strconv.Itoa(i)
		set := setOf(l.scope, fnvString(fnvOffset, c), concSets)
		if bySet[set] = append(bySet[set], c); len(bySet[set]) == concWays+1 {
			clients = bySet[set]
		}
	}
	store := NewMemoryCounters()
	for i, c := range clients {
		d := e.Decide(&Request{Method: "GET", Authority: "a", Path: "/", Headers: [][2]string{{"x-client", c}}, Now: tt0, Counters: store, Owner: 1})
		if full := i == concWays; d.Allow == full || full && d.Code != string(CodeConcurrencyLimited) {
			t.Fatalf("identity %d: allow %v code %s", i, d.Allow, d.Code)
		}
	}
}
