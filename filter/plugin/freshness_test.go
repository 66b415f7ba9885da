package plugin

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// testClock is the filter's clock in native tests.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startAt runs the filter natively under the emulator with its clock set to clk.
func startAt(t *testing.T, config []byte, clk *testClock) proxytest.HostEmulator {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(&vmContext{now: clk.Now}).WithPluginConfiguration(config)
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		t.Fatalf("start failed: %v", host.GetCriticalLogs())
	}
	return host
}

func gauge(t *testing.T, host proxytest.HostEmulator, name string) int64 {
	t.Helper()
	v, err := host.GetGaugeMetric(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return int64(v)
}

// TestPolicyAge: the age of the policy in force counts from the last answer that confirmed it
// (applied or "not modified"), grows while polls fail, and is published on every tick, also
// while a poll is in flight. A worker without any policy is counted until it gets one.
func TestPolicyAge(t *testing.T) {
	s := newSigner(t)
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	host := startAt(t, s.config(false), clk)
	age := func() int64 { return gauge(t, host, "portcullis_policy_age_seconds") }
	without := func() int64 { return gauge(t, host, "portcullis_workers_without_policy") }

	clk.advance(3 * time.Second)
	first := lastPoll(t, host) // ticks
	if age() != 3 || without() != 1 {
		t.Fatalf("before any policy: age %d, without policy %d; want 3 (since the start), 1", age(), without())
	}
	hs, body := s.snapshotReply(t, 4, scenario.Policy)
	host.CallOnHttpCallResponse(first.CalloutID, hs, nil, body) // applied; the next poll is in flight
	if age() != 0 || without() != 0 {
		t.Fatalf("right after the first apply, before a tick: age %d, without policy %d; want 0, 0", age(), without())
	}
	clk.advance(20 * time.Second)
	host.Tick()
	if age() != 20 || without() != 0 {
		t.Fatalf("20 s after the apply, a poll held open: age %d, without policy %d", age(), without())
	}
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	host.CallOnHttpCallResponse(calls[len(calls)-1].CalloutID, s.notModified(4), nil, nil)
	host.Tick()
	if age() != 0 {
		t.Fatalf("after not modified: age %d, want 0", age())
	}

	// The control server goes away: every poll fails, the age grows.
	for i := 0; i < 50; i++ {
		clk.advance(time.Second)
		host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, nil, nil, nil)
	}
	host.Tick()
	if age() != 50 {
		t.Fatalf("after 50 s of failed polls: age %d, want 50", age())
	}
	host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, s.notModified(4), nil, nil)
	host.Tick()
	if age() != 0 {
		t.Fatalf("back: age %d, want 0", age())
	}
}

// TestPollFailureLogs: a poll that does not refresh the policy is logged at error level with
// its reason, never with the token; a run of the same failure is logged when it starts, when
// its reason changes and once a minute, and its end is logged.
func TestPollFailureLogs(t *testing.T) {
	s := newSigner(t)
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	host := startAt(t, s.config(true), clk)
	fail := func(headers [][2]string) {
		clk.advance(200 * time.Millisecond)
		host.CallOnHttpCallResponse(lastPoll(t, host).CalloutID, headers, nil, nil)
	}
	for range 100 { // 20 s
		fail(nil)
	}
	for range 10 {
		fail([][2]string{{":status", "401"}})
	}
	for range 300 { // 60 s: the same reason again after a minute
		fail([][2]string{{":status", "401"}})
	}
	fail(s.notModified(0))

	errs := host.GetErrorLogs()
	if len(errs) != 3 {
		t.Fatalf("%d error lines, want 3 (unreachable; token refused; the same a minute later):\n%s", len(errs), strings.Join(errs, "\n"))
	}
	wants := []string{"unreachable", "refused the data-plane token (status 401)", "refused the data-plane token (status 401)"}
	for i, want := range wants {
		if !strings.Contains(errs[i], want) || !strings.Contains(errs[i], "keeping policy version 0") {
			t.Errorf("error line %d %q does not say %q", i, errs[i], want)
		}
	}
	if !strings.Contains(errs[2], "(401 failed polls") {
		t.Errorf("the minute line does not count the failures: %q", errs[2])
	}
	back := false
	for _, l := range host.GetInfoLogs() {
		back = back || strings.Contains(l, "answers again after 410 failed polls")
	}
	if !back {
		t.Errorf("the end of the failures is not logged: %q", host.GetInfoLogs())
	}
	for _, l := range append(append(host.GetErrorLogs(), host.GetWarnLogs()...), host.GetInfoLogs()...) {
		if strings.Contains(l, "dp-secret-token") {
			t.Fatalf("token logged: %q", l)
		}
	}
}

// TestFreshnessSummary: the published age is the oldest among the workers seen recently; a
// worker gone quiet is dropped; workers without a policy are counted; a damaged entry is
// dropped, not trusted.
func TestFreshnessSummary(t *testing.T) {
	const now, expires = 100_000, 10_000
	tests := []struct {
		name        string
		entry       string
		wantAge     int64
		wantMissing int
		wantLeft    int
	}{
		{"empty", "", 0, 0, 0},
		{"one fresh", "a,99000,99800,1", 1000, 0, 1},
		{"oldest wins", "a,99000,99800,1;b,40000,99900,1;c,98000,99000,1", 60000, 0, 3},
		{"quiet worker dropped", "a,99000,99800,1;gone,1000,80000,1", 1000, 0, 1},
		{"without a policy", "a,99000,99800,1;b,95000,99800,0", 5000, 1, 2},
		{"damaged entries", "a,99000,99800,1;b,x,99800,1;c,1,2;,1,99800,1;d,1,99800,2", 1000, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := parseWorkers(tt.entry)
			age, missing := summarize(w, now, expires)
			if age != tt.wantAge || missing != tt.wantMissing || len(w) != tt.wantLeft {
				t.Fatalf("age %d, missing %d, %d left; want %d, %d, %d", age, missing, len(w), tt.wantAge, tt.wantMissing, tt.wantLeft)
			}
			if again := parseWorkers(string(encodeWorkers(w))); len(again) != len(w) {
				t.Fatalf("round trip kept %d of %d", len(again), len(w))
			}
		})
	}
}
