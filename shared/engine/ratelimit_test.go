package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

// t0 is the tests' injected clock origin.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// limitPolicy is a policy with one public route limited as given, keyed by x-client.
func limitPolicy(limits string) string {
	return `{"version": 1, "routes": [
	  {"name": "r", "match": {"path_prefix": "/"}, "auth": {"type": "none"}, "rate_limits": [` + limits + `]}]}`
}

type limiter struct {
	e     *engine.Engine
	store engine.Counters
}

func newLimiter(t testing.TB, doc string) *limiter {
	return &limiter{e: compile(t, doc), store: engine.NewMemoryCounters()}
}

func (l *limiter) do(at time.Time, client string, extra ...[2]string) engine.Decision {
	h := append([][2]string{{"x-client", client}}, extra...)
	return l.e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/x", Headers: h, Now: at, Counters: l.store, Source: "192.0.2.1:5"})
}

func hdr(hs [][2]string, name string) string {
	for _, h := range hs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// responseHeader is a response header an allowed decision sets.
func responseHeader(d engine.Decision, name string) string {
	return hdr(engine.ApplyResponseEdits(nil, d.Response), name)
}

func TestBurstThenRefill(t *testing.T) {
	tests := []struct {
		name, limit string
		burst       int
		refill      time.Duration // one token per
	}{
		{"10/s burst 20", `{"by": "header:x-client", "rate": 10, "per": "second", "burst": 20}`, 20, 100 * time.Millisecond},
		{"3/s burst 1 (a period that does not divide)", `{"by": "header:x-client", "rate": 3, "per": "second", "burst": 1}`, 1, time.Second/3 + 1}, // ⌈1s/3⌉ ns
		{"1/minute burst 5", `{"by": "header:x-client", "rate": 1, "per": "minute", "burst": 5}`, 5, time.Minute},
		{"1/hour (tiny) burst 2", `{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 2}`, 2, time.Hour},
		{"burst defaults to rate", `{"by": "header:x-client", "rate": 7, "per": "second"}`, 7, time.Second/7 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(t, limitPolicy(tt.limit))
			for i := 0; i < tt.burst; i++ {
				if d := l.do(t0, "c"); !d.Allow {
					t.Fatalf("request %d at t0 refused: %s", i+1, d.Body)
				}
			}
			d := l.do(t0, "c")
			if d.Status != 429 || d.Code != "rate_limited" {
				t.Fatalf("request %d at t0 = %d %s, want 429 rate_limited", tt.burst+1, d.Status, d.Body)
			}
			if string(d.Body) != `{"error":"rate limit exceeded","code":"rate_limited"}` {
				t.Fatalf("body = %s", d.Body)
			}
			wantRetry := strconv.FormatInt(int64((tt.refill+time.Second-1)/time.Second), 10)
			if got := hdr(d.Headers, "retry-after"); got != wantRetry {
				t.Fatalf("retry-after = %q, want %s", got, wantRetry)
			}
			// Just before the next token: still refused. At it: exactly one more.
			if d := l.do(t0.Add(tt.refill-time.Nanosecond), "c"); d.Allow {
				t.Fatalf("allowed 1ns before the next token")
			}
			if d := l.do(t0.Add(tt.refill), "c"); !d.Allow {
				t.Fatalf("refused at the next token: %s", d.Body)
			}
			if d := l.do(t0.Add(tt.refill), "c"); d.Allow {
				t.Fatalf("two tokens after one refill period")
			}
		})
	}
}

// Over a long run with requests far faster than the rate, allowed ≤ burst + rate·t + 1 and
// close to it.
func TestLongRunBound(t *testing.T) {
	const rate, burst = 10, 20
	l := newLimiter(t, limitPolicy(`{"by": "route", "rate": 10, "per": "second", "burst": 20}`))
	allowed := 0
	step := 7 * time.Millisecond // ~143 requests a second against 10
	var elapsed time.Duration
	for elapsed = 0; elapsed <= 60*time.Second; elapsed += step {
		if l.do(t0.Add(elapsed), "c").Allow {
			allowed++
		}
	}
	elapsed -= step
	bound := burst + rate*elapsed.Seconds() + 1
	if float64(allowed) > bound || float64(allowed) < bound-2 {
		t.Fatalf("allowed %d in %v, want ≤ %.1f and within 2 of it", allowed, elapsed, bound)
	}
}

func TestClockGoingBackwardsMintsNothing(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "route", "rate": 1, "per": "second", "burst": 2}`))
	at := t0.Add(10 * time.Second)
	l.do(at, "c")
	l.do(at, "c")
	// The clock jumps back an hour, then returns: no request in between may pass, and the
	// hour is not credited twice.
	for _, back := range []time.Duration{time.Hour, time.Second, time.Nanosecond} {
		if d := l.do(at.Add(-back), "c"); d.Allow {
			t.Fatalf("allowed after the clock went back %v", back)
		}
	}
	if d := l.do(at.Add(999*time.Millisecond), "c"); d.Allow {
		t.Fatal("allowed before a token was earned")
	}
	if d := l.do(at.Add(time.Second), "c"); !d.Allow {
		t.Fatalf("refused after a second: %s", d.Body)
	}
	if d := l.do(at.Add(time.Second), "c"); d.Allow {
		t.Fatal("more than one token for one second")
	}
}

func TestRateZeroRefusesEverything(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "route", "rate": 0, "per": "second"}`))
	d := l.do(t0, "c")
	if d.Status != 429 || d.Code != "rate_limited" {
		t.Fatalf("got %d %s", d.Status, d.Body)
	}
	if v := hdr(d.Headers, "retry-after"); v != "" {
		t.Fatalf("retry-after %q for a limit that never refills", v)
	}
	if v := hdr(d.Headers, "ratelimit"); v != `"route/second";r=0` {
		t.Fatalf("ratelimit = %q", v)
	}
	if d := l.do(t0.Add(1000*time.Hour), "c"); d.Allow {
		t.Fatal("rate 0 let a request through")
	}
}

func TestRateLimitHeaders(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "header:x-client", "rate": 10, "per": "second", "burst": 3}`))
	for i, want := range []string{`"header:x-client/second";r=2;t=1`, `"header:x-client/second";r=1;t=1`, `"header:x-client/second";r=0;t=1`} {
		d := l.do(t0, "c")
		if !d.Allow {
			t.Fatalf("request %d refused", i)
		}
		if got := responseHeader(d, "ratelimit"); got != want {
			t.Fatalf("request %d: ratelimit = %q, want %q", i, got, want)
		}
		if got := responseHeader(d, "ratelimit-policy"); got != `"header:x-client/second";q=3;w=1` {
			t.Fatalf("ratelimit-policy = %q", got)
		}
	}
	d := l.do(t0, "c")
	if got := hdr(d.Headers, "ratelimit"); got != `"header:x-client/second";r=0;t=1` {
		t.Fatalf("429 ratelimit = %q", got)
	}
	if got := hdr(d.Headers, "ratelimit-policy"); got != `"header:x-client/second";q=3;w=1` {
		t.Fatalf("429 ratelimit-policy = %q", got)
	}
	// Remaining is never negative, however often a refused client retries.
	for i := 0; i < 50; i++ {
		d = l.do(t0.Add(time.Duration(i)*time.Millisecond), "c")
		for _, st := range d.Limits.States() {
			if st.Remaining < 0 {
				t.Fatalf("remaining %d", st.Remaining)
			}
		}
	}
}

// A client that waits Retry-After succeeds, on every rate from 1/hour to 1,000/second.
func TestRetryAfterHonoured(t *testing.T) {
	for _, lim := range []string{
		`{"by": "route", "rate": 1000, "per": "second", "burst": 1}`,
		`{"by": "route", "rate": 3, "per": "second", "burst": 2}`,
		`{"by": "route", "rate": 7, "per": "minute", "burst": 1}`,
		`{"by": "route", "rate": 1, "per": "hour", "burst": 1}`,
	} {
		l := newLimiter(t, limitPolicy(lim))
		at := t0
		for i := 0; i < 20; i++ {
			d := l.do(at, "c")
			for d.Allow {
				d = l.do(at, "c")
			}
			ra, err := strconv.Atoi(hdr(d.Headers, "retry-after"))
			if err != nil || ra < 1 {
				t.Fatalf("%s: retry-after %q", lim, hdr(d.Headers, "retry-after"))
			}
			at = at.Add(time.Duration(ra) * time.Second)
			if d := l.do(at, "c"); !d.Allow {
				t.Fatalf("%s: refused after waiting Retry-After %ds", lim, ra)
			}
		}
	}
}

func TestBucketsIndependentPerKey(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 2}`))
	for _, c := range []string{"a", "b", "c"} {
		for i := 0; i < 2; i++ {
			if !l.do(t0, c).Allow {
				t.Fatalf("client %s request %d refused", c, i)
			}
		}
		if l.do(t0, c).Allow {
			t.Fatalf("client %s got a third request", c)
		}
	}
	// A missing header is one more identity, not a bypass.
	noHeader := func() engine.Decision {
		return l.e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/x", Now: t0, Counters: l.store})
	}
	noHeader()
	noHeader()
	if noHeader().Allow {
		t.Fatal("requests without the header are not limited")
	}
}

// Stacked limits are all or nothing: a request refused by one takes from none.
func TestStackedLimitsAllOrNothing(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "header:x-client", "rate": 1, "per": "hour", "burst": 3},
		{"by": "route", "rate": 1, "per": "hour", "burst": 5}`))
	// a takes 3 (its own limit), b takes 2 (the route's) — then the route is empty.
	for i := 0; i < 3; i++ {
		if !l.do(t0, "a").Allow {
			t.Fatalf("a %d refused", i)
		}
	}
	for i := 0; i < 2; i++ {
		if !l.do(t0, "b").Allow {
			t.Fatalf("b %d refused", i)
		}
	}
	// b is refused by the route limit: its own bucket must not lose a token.
	for i := 0; i < 5; i++ {
		d := l.do(t0, "b")
		if d.Allow {
			t.Fatal("route limit exceeded")
		}
		for _, st := range d.Limits.States() {
			if st.Name == "header:x-client/hour" && (st.Remaining != 1 || st.Refused) {
				t.Fatalf("b's own bucket after refusals: %+v", st)
			}
		}
	}
	// And a, refused by its own limit, must not drain the route: after one hour one token
	// each has come back; a (empty) gets one, and the route still has b's.
	at := t0.Add(time.Hour)
	if !l.do(at, "c").Allow {
		t.Fatal("route bucket was drained by refused requests")
	}
}

// failingStore answers every write with a version mismatch: another VM always wins.
type failingStore struct {
	engine.Counters
	writes atomic.Int64
}

func (s *failingStore) Set(key string, v []byte, version uint32) error {
	if version == 0 {
		return s.Counters.Set(key, v, version) // creating a set
	}
	s.writes.Add(1)
	return engine.ErrVersionMismatch
}

// When the compare-and-swap retries run out the request is refused (429, Retry-After: 1)
// and flagged: never let through uncounted.
func TestRetriesExhaustedRefuse(t *testing.T) {
	e := compile(t, limitPolicy(`{"by": "route", "rate": 10, "per": "second"}`))
	store := &failingStore{Counters: engine.NewMemoryCounters()}
	d := e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/", Now: t0, Counters: store})
	if d.Status != 429 || d.Code != "rate_limited" || hdr(d.Headers, "retry-after") != "1" {
		t.Fatalf("got %d %s %v", d.Status, d.Body, d.Headers)
	}
	if d.Limits == nil || !d.Limits.Contended {
		t.Fatal("not flagged as contended")
	}
	if n := store.writes.Load(); n != 8 {
		t.Fatalf("%d write attempts, want 8", n)
	}
}

// errStore fails every read: the check fails closed.
type errStore struct{ engine.Counters }

func (errStore) Get(string) ([]byte, uint32, bool, error) { return nil, 0, false, errors.New("host") }

func TestStoreErrorFailsClosed(t *testing.T) {
	e := compile(t, limitPolicy(`{"by": "route", "rate": 10, "per": "second"}`))
	d := e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/", Now: t0, Counters: errStore{}})
	if d.Status != 500 {
		t.Fatalf("got %d %s", d.Status, d.Body)
	}
	d = e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/", Now: t0})
	if d.Status != 500 {
		t.Fatalf("no store: got %d %s", d.Status, d.Body)
	}
}

// Parallel requests from many goroutines on one key end with an exact count: no lost update.
func TestParallelExactCount(t *testing.T) {
	l := newLimiter(t, limitPolicy(`{"by": "route", "rate": 1, "per": "hour", "burst": 500}`))
	if err := engine.EnsureCounters(l.store); err != nil {
		t.Fatal(err)
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if l.do(t0, "c").Allow {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 500 {
		t.Fatalf("allowed %d of 1,600, want exactly the burst of 500", allowed.Load())
	}
}

func TestIdentityKeying(t *testing.T) {
	doc := `{"version": 1, "trusted_proxy_hops": 0, "routes": [
	  {"name": "ip", "match": {"path_prefix": "/ip"}, "auth": {"type": "none"}, "rate_limits": [{"by": "ip", "rate": 1, "per": "hour", "burst": 1}]},
	  {"name": "h", "match": {"path_prefix": "/h"}, "auth": {"type": "none"}, "rate_limits": [{"by": "header:x-tenant", "rate": 1, "per": "hour", "burst": 1}]}]}`
	e := compile(t, doc)
	store := engine.NewMemoryCounters()
	do := func(path, source string, h ...[2]string) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: path, Source: source, Headers: h, Now: t0, Counters: store})
	}
	steps := []struct {
		name, path, source string
		h                  [][2]string
		status             int
	}{
		{"v6 first", "/ip", "[2001:db8:1:2::1]:5", nil, 0},
		{"same /64, other address", "/ip", "[2001:db8:1:2:ffff::9]:5", nil, 429},
		{"another /64", "/ip", "[2001:db8:1:3::1]:5", nil, 0},
		{"v4", "/ip", "192.0.2.1:5", nil, 0},
		{"v4 neighbour is another client", "/ip", "192.0.2.2:5", nil, 0},
		{"v4-mapped v6 is the v4 client", "/ip", "[::ffff:192.0.2.1]:5", nil, 429},
		{"256-byte header", "/h", "", [][2]string{{"x-tenant", strings.Repeat("a", 256)}}, 0},
		{"257-byte header", "/h", "", [][2]string{{"x-tenant", strings.Repeat("a", 257)}}, 400},
		{"repeated header over 256 in total", "/h", "", [][2]string{{"x-tenant", strings.Repeat("b", 200)}, {"x-tenant", strings.Repeat("b", 60)}}, 400},
	}
	for _, s := range steps {
		d := do(s.path, s.source, s.h...)
		if d.Status != s.status {
			t.Fatalf("%s: status %d (%s), want %d", s.name, d.Status, d.Body, s.status)
		}
		if s.status == 400 && d.Code != "rate_limit_key_too_long" {
			t.Fatalf("%s: code %s", s.name, d.Code)
		}
	}
}

func TestConfigurableIPv6Prefix(t *testing.T) {
	e := compile(t, `{"version": 1, "rate_limit_ipv6_prefix": 128, "routes": [
	  {"name": "ip", "match": {"path_prefix": "/"}, "auth": {"type": "none"}, "rate_limits": [{"by": "ip", "rate": 1, "per": "hour", "burst": 1}]}]}`)
	store := engine.NewMemoryCounters()
	for _, src := range []string{"[2001:db8::1]:5", "[2001:db8::2]:5"} {
		if d := e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: "/", Source: src, Now: t0, Counters: store}); !d.Allow {
			t.Fatalf("%s refused with /128 keying", src)
		}
	}
}

func TestExemptions(t *testing.T) {
	e := compile(t, limitPolicy(`{"by": "route", "rate": 0, "per": "second", "exempt": {"methods": ["HEAD"], "path_prefixes": ["/status"]}}`))
	store := engine.NewMemoryCounters()
	for _, r := range []struct {
		method, path string
		allow        bool
	}{{"HEAD", "/x", true}, {"GET", "/status/db", true}, {"GET", "/statusx", false}, {"GET", "/x", false}} {
		d := e.Decide(&engine.Request{Method: r.method, Authority: "a", Path: r.path, Now: t0, Counters: store})
		if d.Allow != r.allow {
			t.Fatalf("%s %s: allow %v, want %v", r.method, r.path, d.Allow, r.allow)
		}
	}
}

func TestTiers(t *testing.T) {
	doc := fmt.Sprintf(`{"version": 1,
	  "rate_limit_tiers": [{"name": "default", "limits": [{"rate": 1, "per": "hour", "burst": 1}]}, {"name": "gold", "limits": [{"by": "api_key", "rate": 1, "per": "hour", "burst": 3}]}],
	  "routes": [
	    {"name": "a", "match": {"path_prefix": "/a"}, "auth": {"type": "api_key"}},
	    {"name": "b", "match": {"path_prefix": "/b"}, "auth": {"type": "api_key"}, "rate_limits": [{"by": "api_key", "rate": 1, "per": "hour", "burst": 10}]}],
	  "keys": [{"id": "plain", "sha256": %q}, {"id": "gold", "sha256": %q, "tier": "gold"}]}`, sha("k-plain"), sha("k-gold"))
	e := compile(t, doc)
	store := engine.NewMemoryCounters()
	do := func(path, key string) engine.Decision {
		return e.Decide(&engine.Request{Method: "GET", Authority: "a", Path: path, Headers: [][2]string{{"x-api-key", key}}, Now: t0, Counters: store})
	}
	// The default tier: one request across every route.
	if !do("/a", "k-plain").Allow || do("/b", "k-plain").Allow {
		t.Fatal("default tier is not one bucket across routes")
	}
	// Gold: three, shared by both routes; the route's own limit counts too.
	if !do("/a", "k-gold").Allow || !do("/b", "k-gold").Allow || !do("/a", "k-gold").Allow {
		t.Fatal("gold refused within its tier")
	}
	d := do("/b", "k-gold")
	if d.Allow {
		t.Fatal("gold exceeded its tier")
	}
	if got := hdr(d.Headers, "ratelimit-policy"); got != `"api_key/hour";q=10;w=36000, "gold/api_key/hour";q=3;w=10800` {
		t.Fatalf("ratelimit-policy = %q", got)
	}
}

func sha(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}
