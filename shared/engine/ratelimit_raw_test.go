package engine

import (
	"bytes"
	"math/rand"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The in-place path (countRaw, when every bucket a request touches exists) must decide and
// write exactly what the general path (decode, update, encode) does: the same decisions, the
// same headers and byte for byte the same sets, through refills, refusals, a clock going
// backwards, stacked limits sharing a set, new buckets and malformed sets.
func TestCountInPlaceMatchesGeneralPath(t *testing.T) {
	doc := `{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
	  "rate_limits": [{"by": "header:x-client", "rate": 3, "per": "second", "burst": 5},
	    {"by": "route", "rate": 50, "per": "second", "burst": 40},
	    {"by": "header:x-client", "rate": 20, "per": "minute", "burst": 9}]}]}`
	e := compileDoc(t, doc)
	var rc *rateCheck
	for _, c := range e.routes[0].checks {
		if r, ok := c.(*rateCheck); ok {
			rc = r
		}
	}
	type step struct {
		at      time.Time
		client  string
		corrupt bool // overwrite the client's first set with malformed bytes before the request
	}
	rng := rand.New(rand.NewSource(1))
	var steps []step
	at := tt0
	for range 3000 {
		switch d := rng.Intn(10); {
		case d == 0:
			at = at.Add(-time.Duration(rng.Intn(500)) * time.Millisecond) // backwards
		default:
			at = at.Add(time.Duration(rng.Intn(150)) * time.Millisecond)
		}
		steps = append(steps, step{at: at, client: "c" + strconv.Itoa(rng.Intn(12)), corrupt: rng.Intn(200) == 0})
	}
	run := func(inPlace bool) ([]string, *MemoryCounters) {
		countInPlace = inPlace
		defer func() { countInPlace = true }()
		store := NewMemoryCounters()
		var out []string
		for _, s := range steps {
			if s.corrupt {
				l := rc.limits[0]
				id := setOf(l.scope, fnvString(fnvOffset, s.client), rateSets)
				_ = store.Set(rateKey(id), []byte{setFormat, 1, 2, 3}, 0)
			}
			d := e.Decide(&Request{Method: "GET", Authority: "a", Path: "/x", Headers: [][2]string{{"x-client", s.client}}, Now: s.at, Counters: store})
			hs := ApplyResponseEdits(d.Headers, d.Response)
			out = append(out, strconv.FormatBool(d.Allow)+" "+string(d.Code)+" "+joinHeaders(hs))
		}
		return out, store
	}
	fast, fastStore := run(true)
	slow, slowStore := run(false)
	allowed := 0
	for i := range fast {
		if fast[i] != slow[i] {
			t.Fatalf("request %d: in place %q, general path %q", i, fast[i], slow[i])
		}
		if fast[i][:4] == "true" {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(fast) {
		t.Fatalf("%d of %d allowed: the sequence must exercise both outcomes", allowed, len(fast))
	}
	keys := func(c *MemoryCounters) []string {
		var k []string
		for key := range c.m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if !slices.Equal(keys(fastStore), keys(slowStore)) {
		t.Fatalf("different sets written")
	}
	for _, k := range keys(fastStore) {
		if !bytes.Equal(fastStore.m[k].data, slowStore.m[k].data) {
			t.Fatalf("set %s: in place %x, general path %x", k, fastStore.m[k].data, slowStore.m[k].data)
		}
	}
}

func joinHeaders(hs [][2]string) string {
	var b []byte
	for _, h := range hs {
		b = append(append(append(append(b, h[0]...), ": "...), h[1]...), '\n')
	}
	return string(b)
}

// findRaw finds exactly the buckets decode reads, and nothing in what decode reads as empty.
func TestFindRaw(t *testing.T) {
	var s rateSet
	s.n, s.nEvict = 3, 2
	s.ways[0] = bucket{1, 2, 3, 4, 5, 6}
	s.ways[1] = bucket{7, 8, -9, 10, 11, 12}
	s.ways[2] = bucket{1, 9, 13, 14, 15, 16}
	s.evicts[0] = evicted{1, 2, 17} // an eviction record that looks like bucket (1, 2)
	s.evicts[1] = evicted{7, 8, 18} // and one like (7, 8)
	b := s.encode(nil)
	for w := 0; w < s.n; w++ {
		off := findRaw(b, s.ways[w].scope, s.ways[w].value)
		if want := setHeader + s.nEvict*evictBytes + w*bucketBytes; off != want {
			t.Fatalf("bucket %d at %d, want %d", w, off, want)
		}
		if i64(b[off+16:]) != s.ways[w].level || i64(b[off+24:]) != s.ways[w].at {
			t.Fatalf("bucket %d: wrong bytes", w)
		}
	}
	for _, miss := range [][2]uint64{{1, 3}, {2, 1}, {0, 0}, {8, 7}} {
		if off := findRaw(b, miss[0], miss[1]); off >= 0 {
			t.Fatalf("(%d, %d) found at %d", miss[0], miss[1], off)
		}
	}
	var empty rateSet
	for _, bad := range [][]byte{nil, {setFormat}, {2, 0}, {setFormat, 9}, append(slices.Clone(b), 0), b[:len(b)-1], append([]byte{2}, b[1:]...)} {
		empty.decode(bad)
		if empty.n != 0 {
			t.Fatalf("malformed %x decodes to %d buckets", bad, empty.n)
		}
		if off := findRaw(bad, 1, 2); off >= 0 {
			t.Fatalf("malformed %x: bucket found at %d", bad, off)
		}
	}
}

// BenchmarkCountFullSet is one limit's allow path when the request's set holds 48 other
// buckets (about what 200,000 identities put in a set), counted in place and through the
// general path (decode, update, encode), with the stub store below (no copies).
func BenchmarkCountFullSet(b *testing.B) {
	e := compileDoc(b, `{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"},
	  "rate_limits": [{"by": "header:x-client", "rate": 1000000, "per": "second", "burst": 1000000}]}]}`)
	var s rateSet
	for i := range 48 {
		s.ways[i] = bucket{scope: uint64(i + 1), value: uint64(i), level: unitsPerToken, at: tt0.UnixNano()}
	}
	s.n = 48
	for _, inPlace := range []bool{true, false} {
		b.Run("in-place-"+strconv.FormatBool(inPlace), func(b *testing.B) {
			countInPlace = inPlace
			defer func() { countInPlace = true }()
			st := &benchStore{v: s.encode(nil)}
			res := new(LimitResult)
			h := [][2]string{{"x-client", "abc"}}
			now := tt0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				if d := e.Decide(&Request{Method: "GET", Authority: "a", Path: "/x", Headers: h, Now: now, Counters: st, Limits: res}); !d.Allow {
					b.Fatal(d.Code)
				}
			}
		})
	}
}

// benchStore is one set for every key, without the copies or the lock of MemoryCounters.
type benchStore struct{ v []byte }

func (s *benchStore) Get(string) ([]byte, uint32, bool, error) { return s.v, 1, true, nil }
func (s *benchStore) Set(_ string, v []byte, _ uint32) error {
	s.v = append(s.v[:0], v...)
	return nil
}
