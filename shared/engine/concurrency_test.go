package engine_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

const concPolicy = `{"version": 1, "routes": [
  {"name": "sse", "match": {"path_prefix": "/events"}, "auth": {"type": "none"},
   "max_concurrent": [{"by": "header:x-client", "limit": 2}]},
  {"name": "both", "match": {"path_prefix": "/both"}, "auth": {"type": "none"},
   "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 5}],
   "max_concurrent": [{"by": "route", "limit": 1}]}]}`

func TestConcurrencyLimit(t *testing.T) {
	e := compile(t, concPolicy)
	store := engine.NewMemoryCounters()
	open := func(owner uint64, at time.Time, client, path string) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: path, Headers: [][2]string{{"x-client", client}},
			Now: at, Counters: store, Owner: owner})
	}
	a1, a2 := open(1, t0, "a", "/events"), open(2, t0, "a", "/events")
	if !a1.Allow || !a2.Allow {
		t.Fatal("first two streams refused")
	}
	d := open(3, t0, "a", "/events")
	if d.Status != 429 || d.Code != "concurrency_limited" || hdr(d.Headers, "retry-after") != "1" {
		t.Fatalf("third stream: %d %s %v", d.Status, d.Body, d.Headers)
	}
	if !open(1, t0, "b", "/events").Allow {
		t.Fatal("another client shares a's slots")
	}
	// A stream that ends (done, reset, local reply: the filter releases on every ending)
	// frees its slot.
	if err := engine.ReleaseLeases(store, 1, a1.Limits.Leases, t0.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if !open(3, t0, "a", "/events").Allow {
		t.Fatal("slot not released")
	}
	if open(3, t0, "a", "/events").Allow {
		t.Fatal("released more than one slot")
	}
}

// A slot held by a VM that died (no more renewals) expires after LeaseTTL; a live VM that
// renews keeps its slots however long its streams last.
func TestConcurrencyLeaseExpiry(t *testing.T) {
	e := compile(t, concPolicy)
	store := engine.NewMemoryCounters()
	open := func(owner uint64, at time.Time) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/events", Headers: [][2]string{{"x-client", "a"}},
			Now: at, Counters: store, Owner: owner})
	}
	live := open(1, t0) // VM 1 stays alive and renews
	open(2, t0)         // VM 2 dies holding a slot
	held := map[engine.Lease]int{live.Limits.Leases[0]: 1}
	for at := t0; at.Before(t0.Add(3 * engine.LeaseTTL)); at = at.Add(engine.RenewEvery) {
		if err := engine.RenewLeases(store, 1, held, at.UnixNano()); err != nil {
			t.Fatal(err)
		}
		dead := at.Sub(t0) >= engine.LeaseTTL
		if got := open(3, at); got.Allow != dead {
			t.Fatalf("at +%v: allow %v, want %v", at.Sub(t0), got.Allow, dead)
		} else if got.Allow {
			engine.ReleaseLeases(store, 3, got.Limits.Leases, at.UnixNano())
		}
	}
}

// A request refused by its concurrency limit takes no rate-limit token, and one refused by
// its rate limit takes no slot.
func TestConcurrencyAndRateAllOrNothing(t *testing.T) {
	e := compile(t, concPolicy)
	store := engine.NewMemoryCounters()
	open := func(client string) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/both", Headers: [][2]string{{"x-client", client}},
			Now: t0, Counters: store, Owner: 1})
	}
	first := open("a")
	if !first.Allow {
		t.Fatal("first refused")
	}
	for i := 0; i < 10; i++ {
		if d := open("a"); d.Code != "concurrency_limited" {
			t.Fatalf("got %s", d.Code)
		}
	}
	engine.ReleaseLeases(store, 1, first.Limits.Leases, t0.UnixNano())
	// a spent one token of five; the ten refusals spent none.
	for i := 0; i < 4; i++ {
		d := open("a")
		if !d.Allow {
			t.Fatalf("request %d: %s", i, d.Body)
		}
		engine.ReleaseLeases(store, 1, d.Limits.Leases, t0.UnixNano())
	}
	if d := open("a"); d.Code != "rate_limited" {
		t.Fatalf("sixth: %s", d.Code)
	}
	// The rate-limited request took no slot: b gets the route's only one.
	if !open("b").Allow {
		t.Fatal("a rate-limited request kept a concurrency slot")
	}
}
