package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/api"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{rateLimit: api.RateLimit{AdminRate: 1, AdminBurst: 2, DataplaneRate: 10, DataplaneBurst: 3, AnonymousRate: 0.5, AnonymousBurst: 2}})
	// Per admin token: the burst, then 429 with Retry-After, then one more per second.
	for i := range 2 {
		expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusOK, "")
		_ = i
	}
	r := e.do("GET", "/v1/keys", adminToken, nil)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Another token has its own bucket.
	expect(t, e.do("GET", "/v1/keys", e.readOnly, nil), http.StatusOK, "")
	e.fake.Advance(time.Second)
	expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusTooManyRequests, "rate_limited")

	// Data-plane tokens have their own rate.
	for range 3 {
		if r := e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil); r.status != http.StatusOK {
			t.Fatalf("poll: %d", r.status)
		}
	}
	expect(t, e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil), http.StatusTooManyRequests, "rate_limited")

	// Without a valid token the client's address is limited, so guessing tokens is slow.
	expect(t, e.do("GET", "/v1/keys", "pca_guess_1_00000000000000", nil), http.StatusUnauthorized, "unauthorized")
	expect(t, e.do("GET", "/v1/keys", "pca_guess_2_00000000000000", nil), http.StatusUnauthorized, "unauthorized")
	r = e.do("GET", "/v1/keys", "pca_guess_3_00000000000000", nil)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "2" {
		t.Fatalf("anonymous Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Health and metrics are never limited.
	for range 5 {
		expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
	}
	if !contains(string(e.do("GET", "/metrics", "", nil).body), "portcullis_control_rate_limited_total 4") {
		t.Fatal("rate-limited requests not counted")
	}
}
