package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/store"
)

// maxBuckets bounds the limiter's memory against a flood of client addresses.
const maxBuckets = 10_000

// limiter is a set of token buckets keyed by caller.
type limiter struct {
	clock   clock.Clock
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	full   time.Time // when the bucket will be full again: after that it can be forgotten
}

func newLimiter(c clock.Clock) *limiter {
	return &limiter{clock: c, buckets: make(map[string]*bucket)}
}

// allow takes one token from key's bucket; when there is none it says how long until there is.
func (l *limiter) allow(key string, rate float64, burst int) (bool, time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	b.full = now.Add(time.Duration((float64(burst) - b.tokens) / rate * float64(time.Second)))
	return true, 0
}

// sweep forgets buckets that have refilled (forgetting them changes nothing); if that is not
// enough, it forgets them all rather than grow without bound.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if !now.Before(b.full) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// rateLimit applies the caller's bucket: its token's if authenticated, else its address's.
func (s *server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl := s.cfg.RateLimit
		key, rate, burst := "ip:"+clientIP(r), rl.AnonymousRate, rl.AnonymousBurst
		if p, ok := auth.FromContext(r.Context()); ok {
			key, rate, burst = "token:"+p.TokenID, rl.AdminRate, rl.AdminBurst
			if p.Kind == store.KindDataplane {
				rate, burst = rl.DataplaneRate, rl.DataplaneBurst
			}
		}
		if ok, wait := s.limiter.allow(key, rate, burst); !ok {
			s.m.limited.Inc()
			secs := int(math.Ceil(wait.Seconds()))
			s.fail(w, r, &apiError{status: http.StatusTooManyRequests, code: "rate_limited", msg: "too many requests; retry later",
				header: [][2]string{{"Retry-After", strconv.Itoa(max(secs, 1))}}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the connection's address. Forwarded headers are not trusted: the admin API is
// meant to be reached directly or through a proxy that the operator rate-limits itself.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
