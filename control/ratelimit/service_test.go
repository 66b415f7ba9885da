package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/ratelimit"
)

// redisAddr is the test Redis; `bash .ci/services.sh` starts one. Tests fail, never skip,
// when it is not there.
func redisAddr() string {
	if a := os.Getenv("PORTCULLIS_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// clock is the service's injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*httptest.Server, *clock) {
	t.Helper()
	rdb, err := ratelimit.Dial(context.Background(), redisAddr())
	if err != nil {
		t.Fatalf("%v (start it with: bash .ci/services.sh)", err)
	}
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	rand.Read(b[:])
	c := &clock{now: t0}
	srv := httptest.NewServer(ratelimit.Handler(ratelimit.Config{Redis: rdb, Now: c.Now, Prefix: "portcullis-test:" + hex.EncodeToString(b[:]) + ":"}))
	t.Cleanup(srv.Close)
	return srv, c
}

func descriptor(bucket string, rate, burst int, unit string) string {
	return `{"entries":[{"key":"portcullis_bucket","value":"` + bucket + `"},{"key":"burst","value":"` + itoa(burst) + `"}],"limit":{"requests_per_unit":` + itoa(rate) + `,"unit":"` + unit + `"}}`
}

func itoa(n int) string { return jsonNumber(n) }

func jsonNumber(n int) string { b, _ := json.Marshal(n); return string(b) }

func call(t *testing.T, srv *httptest.Server, descriptors ...string) (int, map[string]any) {
	t.Helper()
	body := `{"domain":"test","descriptors":[` + strings.Join(descriptors, ",") + `]}`
	resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestBurstRefillAndRetry(t *testing.T) {
	srv, c := newService(t)
	d := descriptor("a", 2, 3, "SECOND") // 3 at once, then one every 500 ms
	for i := 0; i < 3; i++ {
		if st, _ := call(t, srv, d); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	st, out := call(t, srv, d)
	if st != 429 || out["overallCode"] != "OVER_LIMIT" {
		t.Fatalf("fourth: %d %v", st, out)
	}
	s := out["statuses"].([]any)[0].(map[string]any)
	if s["code"] != "OVER_LIMIT" || s["durationUntilReset"] != "0.500s" {
		t.Fatalf("status %v", s)
	}
	c.set(t0.Add(499 * time.Millisecond))
	if st, _ := call(t, srv, d); st != 429 {
		t.Fatal("allowed before the next token")
	}
	c.set(t0.Add(500 * time.Millisecond))
	if st, _ := call(t, srv, d); st != 200 {
		t.Fatal("refused at the next token")
	}
	// The clock going back mints nothing.
	c.set(t0)
	if st, _ := call(t, srv, d); st != 429 {
		t.Fatal("a clock going back minted a token")
	}
	c.set(t0.Add(999 * time.Millisecond))
	if st, _ := call(t, srv, d); st != 429 {
		t.Fatal("the time spent backwards was credited")
	}
}

func TestAllOrNothingAndStandardDescriptors(t *testing.T) {
	srv, _ := newService(t)
	small, big := descriptor("s", 1, 1, "HOUR"), descriptor("b", 1, 5, "HOUR")
	if st, _ := call(t, srv, small, big); st != 200 {
		t.Fatal("first refused")
	}
	for i := 0; i < 3; i++ {
		if st, _ := call(t, srv, small, big); st != 429 {
			t.Fatal("small limit exceeded")
		}
	}
	// The refusals took nothing from the big bucket: 4 left.
	for i := 0; i < 4; i++ {
		if st, _ := call(t, srv, big); st != 200 {
			t.Fatalf("big refused at %d: refusals drained it", i)
		}
	}
	// A standard descriptor (no burst entry): burst = rate. One without a limit: not limited.
	std := `{"entries":[{"key":"remote_address","value":"10.0.0.1"}],"limit":{"requests_per_unit":2,"unit":"MINUTE"}}`
	free := `{"entries":[{"key":"path","value":"/"}]}`
	call(t, srv, std, free)
	call(t, srv, std, free)
	if st, _ := call(t, srv, std, free); st != 429 {
		t.Fatal("standard descriptor not limited to its rate")
	}
	if st, _ := call(t, srv, free); st != 200 {
		t.Fatal("a descriptor without a limit was limited")
	}
}

// Redis counts atomically: parallel requests end with an exact count.
func TestParallelExact(t *testing.T) {
	srv, _ := newService(t)
	d := descriptor("p", 1, 100, "HOUR")
	var ok atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if st, _ := call(t, srv, d); st == 200 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 100 {
		t.Fatalf("allowed %d of 320, want exactly 100", ok.Load())
	}
}

func TestBadRequestsAndRedisDown(t *testing.T) {
	srv, _ := newService(t)
	for _, body := range []string{`{`, `{"domain":"x"}`, `{"domain":"x","descriptors":[{"entries":[]}]}`,
		`{"domain":"x","descriptors":[{"entries":[{"key":"burst","value":"0"}],"limit":{"requests_per_unit":1,"unit":"SECOND"}}]}`,
		`{"domain":"x","descriptors":[{"entries":[{"key":"a","value":"b"}],"limit":{"requests_per_unit":1,"unit":"DAY"}}]}`} {
		resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d", body, resp.StatusCode)
		}
	}
	// Redis unreachable: 500, so the filter applies the limit's failure mode.
	rdb, _ := ratelimit.Dial(context.Background(), redisAddr())
	rdb.Close()
	down := httptest.NewServer(ratelimit.Handler(ratelimit.Config{Redis: rdb}))
	defer down.Close()
	resp, err := http.Post(down.URL+"/json", "application/json", strings.NewReader(`{"domain":"x","descriptors":[`+descriptor("d", 1, 1, "SECOND")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("redis down: %d", resp.StatusCode)
	}
}
