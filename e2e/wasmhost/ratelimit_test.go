package wasmhost_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
	"github.com/portcullis/portcullis/shared/engine"
)

// Rate and concurrency limits of the compiled filter on 4 worker VMs sharing shared data,
// with the host's clock injected: the filter's own clock is the test's.

const rateLimitConfig = `{"policy": {"version": 1, "routes": [
  {"name": "one", "match": {"path_prefix": "/one"}, "auth": {"type": "none"},
   "rate_limits": [{"by": "route", "rate": 10, "per": "second", "burst": 20}]},
  {"name": "keyed", "match": {"path_prefix": "/keyed"}, "auth": {"type": "none"},
   "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 1}]},
  {"name": "stacked", "match": {"path_prefix": "/stacked"}, "auth": {"type": "none"},
   "rate_limits": [{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 3}, {"by": "route", "rate": 1, "per": "hour", "burst": 5}]},
  {"name": "slow", "match": {"path_prefix": "/slow"}, "auth": {"type": "none"},
   "rate_limits": [{"by": "route", "rate": 3, "per": "minute", "burst": 2}]},
  {"name": "sse", "match": {"path_prefix": "/events"}, "auth": {"type": "none"},
   "limits": {"max_body_bytes": 10}, "max_concurrent": [{"by": "header:x-client", "limit": 2}]}]}}`

var rt0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func limitedHost(t testing.TB, clock wasmhost.Clock) *wasmhost.Host {
	return newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 4, PluginConfig: []byte(rateLimitConfig), Clock: clock})
}

func limitedReq(path, client string) [][2]string {
	return [][2]string{{":method", "GET"}, {":path", path}, {":authority", "a"}, {":scheme", "http"}, {"x-client", client}}
}

// send runs one whole exchange and returns the local reply's status (0: reached the
// upstream), its headers, and the response headers the client got.
func send(h *wasmhost.Host, path, client string) (int, [][2]string) {
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders(limitedReq(path, client), true)
	if r.Action == wasmhost.LocalResponse {
		return r.Local.Status, r.Local.Headers
	}
	resp := s.ResponseHeaders([][2]string{{":status", "200"}}, true)
	return 0, resp.Headers
}

func TestRateLimitExactAcrossVMs(t *testing.T) {
	clock := wasmhost.NewFakeClock(rt0)
	h := limitedHost(t, clock)
	// 8 clients × 40 requests at t0, in parallel on the 4 VMs: exactly the burst passes.
	var allowed atomic.Int64
	var wg sync.WaitGroup
	vms := make([]atomic.Int64, 4)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				s := h.NewStream(wasmhost.StreamInfo{})
				r := s.RequestHeaders(limitedReq("/one", "c"), true)
				if r.Action == wasmhost.Continue {
					allowed.Add(1)
				}
				vms[s.VM()].Add(1)
				s.Done()
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 20 {
		t.Fatalf("allowed %d at t0 across 4 VMs, want exactly the burst of 20", n)
	}
	for i := range vms {
		if vms[i].Load() == 0 {
			t.Fatalf("VM %d served nothing", i)
		}
	}
	// Refill at 1/rate: one token every 100 ms, whichever VM asks.
	for step := 0; step < 8; step++ {
		clock.Advance(99 * time.Millisecond)
		if st, _ := send(h, "/one", "c"); st != 429 {
			t.Fatalf("step %d: allowed before the next token", step)
		}
		clock.Advance(time.Millisecond)
		if st, _ := send(h, "/one", "c"); st != 0 {
			t.Fatalf("step %d: refused at the next token (%d)", step, st)
		}
	}
	if got := h.Sum("portcullis_requests_denied_total", "reason", "rate_limited"); got != 300+8 {
		t.Fatalf("rate_limited denials = %d, want %d", got, 300+8)
	}
}

// Over a long run at ~14 requests per second against 10 per second, the allowed count stays
// within burst + rate·t + 1 and close to it.
func TestRateLimitLongRunWasm(t *testing.T) {
	clock := wasmhost.NewFakeClock(rt0)
	h := limitedHost(t, clock)
	allowed, step := 0, 70*time.Millisecond
	elapsed := time.Duration(0)
	for ; elapsed <= 60*time.Second; elapsed += step {
		if st, _ := send(h, "/one", "c"); st == 0 {
			allowed++
		}
		clock.Advance(step)
	}
	bound := 20 + 10*(elapsed-step).Seconds() + 1
	if float64(allowed) > bound || float64(allowed) < bound-2 {
		t.Fatalf("allowed %d, want ≤ %.1f and within 2 of it", allowed, bound)
	}
}

// settableClock is a clock the test sets to any time, backwards included (timers never fire:
// the policy needs no tick).
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *settableClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *settableClock) AfterFunc(time.Duration, func()) wasmhost.Timer {
	return stoppedTimer{}
}

type stoppedTimer struct{}

func (stoppedTimer) Stop() bool { return false }

func TestRateLimitClockBackwardsWasm(t *testing.T) {
	clock := &settableClock{now: rt0}
	h := limitedHost(t, clock)
	send(h, "/slow", "c")
	send(h, "/slow", "c") // the burst of 2 is spent; a token every 20 s
	for _, back := range []time.Duration{time.Hour, time.Minute, time.Second} {
		clock.set(rt0.Add(-back))
		if st, _ := send(h, "/slow", "c"); st != 429 {
			t.Fatalf("allowed with the clock %v back", back)
		}
	}
	clock.set(rt0.Add(20*time.Second - time.Millisecond))
	if st, _ := send(h, "/slow", "c"); st != 429 {
		t.Fatal("the time spent backwards was credited")
	}
	clock.set(rt0.Add(20 * time.Second))
	if st, _ := send(h, "/slow", "c"); st != 0 {
		t.Fatal("refused after 20 s")
	}
}

func TestRateLimitKeysStackingAndRetryAfterWasm(t *testing.T) {
	clock := wasmhost.NewFakeClock(rt0)
	h := limitedHost(t, clock)
	// Independent buckets per key.
	for _, c := range []string{"a", "b", "c", "d"} {
		if st, _ := send(h, "/keyed", c); st != 0 {
			t.Fatalf("client %s refused", c)
		}
		if st, _ := send(h, "/keyed", c); st != 429 {
			t.Fatalf("client %s got a second token", c)
		}
	}
	// Stacked: a spends its 3, b 2 of the route's 5; b's refusals by the route spend none of
	// b's own bucket, a's refusals by its own bucket none of the route's.
	for i := 0; i < 3; i++ {
		send(h, "/stacked", "a")
	}
	for i := 0; i < 2; i++ {
		send(h, "/stacked", "b")
	}
	for i := 0; i < 4; i++ {
		if st, hs := send(h, "/stacked", "b"); st != 429 || value(hs, "ratelimit") != `"route/hour";r=0;t=18000` {
			t.Fatalf("b over the route limit: %d %q", st, value(hs, "ratelimit"))
		}
		if st, _ := send(h, "/stacked", "a"); st != 429 {
			t.Fatal("a over its own limit")
		}
	}
	// Retry-After honoured, RateLimit-Remaining never negative.
	for i := 0; i < 6; i++ {
		st, hs := send(h, "/slow", "c")
		if st == 0 {
			continue
		}
		ra, err := strconv.Atoi(value(hs, "retry-after"))
		if err != nil || ra < 1 || ra > 20 {
			t.Fatalf("retry-after %q", value(hs, "retry-after"))
		}
		clock.Advance(time.Duration(ra) * time.Second)
		st, hs = send(h, "/slow", "c")
		if st != 0 || value(hs, "ratelimit") != `"route/minute";r=0;t=40` {
			t.Fatalf("after waiting Retry-After %ds: %d, ratelimit %q", ra, st, value(hs, "ratelimit"))
		}
	}
}

// 100,000 distinct identities fit, with no bucket evicted, in the documented shared memory.
func TestRateLimitHundredThousandIdentitiesWasm(t *testing.T) {
	h := limitedHost(t, wasmhost.NewFakeClock(rt0))
	entries0, bytes0 := h.SharedDataSize()
	for i := 0; i < 100_000; i++ {
		if st, _ := send(h, "/keyed", "id-"+strconv.Itoa(i)); st != 0 {
			t.Fatalf("identity %d refused", i)
		}
	}
	entries, bytes := h.SharedDataSize()
	if ev := metricValue(t, h, "portcullis_ratelimit_evictions_total"); ev != 0 {
		t.Fatalf("%d evictions", ev)
	}
	perIdentity := float64(bytes-bytes0) / 100_000
	t.Logf("shared data: %d entries, %d bytes (%d before), %.1f bytes per identity", entries, bytes, bytes0, perIdentity)
	if entries != entries0 || perIdentity > 49 {
		t.Fatalf("entries %d → %d, %.1f bytes per identity (documented: a fixed table, 48 bytes a bucket)", entries0, entries, perIdentity)
	}
	// Each identity is still tracked: a second request is refused.
	for i := 0; i < 100_000; i += 997 {
		if st, _ := send(h, "/keyed", "id-"+strconv.Itoa(i)); st != 429 {
			t.Fatalf("identity %d not tracked", i)
		}
	}
}

func TestConcurrencySlotsReleasedOnEveryEnding(t *testing.T) {
	clock := wasmhost.NewFakeClock(rt0)
	h := limitedHost(t, clock)
	open := func() (*wasmhost.Stream, wasmhost.Result) {
		s := h.NewStream(wasmhost.StreamInfo{})
		return s, s.RequestHeaders(limitedReq("/events", "c"), false)
	}
	s1, r1 := open()
	s2, r2 := open()
	if r1.Action != wasmhost.Continue || r2.Action != wasmhost.Continue || s1.VM() == s2.VM() {
		t.Fatalf("two streams on two VMs: %v %v", r1.Action, r2.Action)
	}
	// A long-lived stream keeps its slot past the lease TTL: its VM renews it on the tick.
	clock.Advance(3 * engine.LeaseTTL)
	s3, r3 := open()
	if r3.Action != wasmhost.LocalResponse || r3.Local.Status != 429 || value(r3.Local.Headers, "retry-after") != "1" {
		t.Fatalf("third stream: %v", r3.Action)
	}
	s3.Done()
	// A client reset (the stream ends without a response) releases the slot.
	s1.Done()
	s4, r4 := open()
	if r4.Action != wasmhost.Continue {
		t.Fatal("slot not released by a reset")
	}
	// A local reply after the slot was taken (the streamed body is too large) releases it.
	if r := s4.RequestBody(make([]byte, 11), true); r.Action != wasmhost.LocalResponse || r.Local.Status != 413 {
		t.Fatalf("body: %v", r.Action)
	}
	s4.Done()
	s5, r5 := open()
	if r5.Action != wasmhost.Continue {
		t.Fatal("slot not released by a local reply")
	}
	// A completed exchange releases it.
	s2.RequestBody(nil, true)
	s2.ResponseHeaders([][2]string{{":status", "200"}}, true)
	s2.Done()
	s6, r6 := open()
	if r6.Action != wasmhost.Continue {
		t.Fatal("slot not released by a completed stream")
	}
	s5.Done()
	s6.Done()
	if got := h.Sum("portcullis_requests_denied_total", "reason", "concurrency_limited"); got != 1 {
		t.Fatalf("concurrency_limited denials = %d", got)
	}
}
