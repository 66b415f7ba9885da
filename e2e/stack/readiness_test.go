package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// lines keeps log messages.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, r.Level.String()+" "+r.Message)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func (l *lines) with(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.all {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// TestStalePolicyIsNotReady: with the control server gone the gateway keeps enforcing the last
// policy, and says so: the policy age grows with the filter's clock, /readyz turns 503 with the
// reason once it passes the bound, and the filter logs why at error level. The control server
// back, the gateway is ready again. Time inside the filter is a fake clock the test moves.
func TestStalePolicyIsNotReady(t *testing.T) {
	clock := wasmhost.NewFakeClock(time.Now())
	logs := &lines{}
	e := start(t, stores[0].cfg(t), func(c *stack.Config) {
		c.Clock, c.MaxPolicyAge, c.Logger = clock, 30*time.Second, slog.New(logs)
		c.WaitSeconds = 1 // a poll held open after the restart answers within a second
	})
	ready := func() (int, string) {
		resp, err := client.Get(e.AdminURL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	age := func() int64 { return e.metric("portcullis_policy_age_seconds") }
	k := e.createKey(t, "kept")
	e.waitStatus(t, k.Key, http.StatusOK, time.Now(), publishLimit)
	if code, body := ready(); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz with a fresh policy: %d %q", code, body)
	}

	// Stopped, the server answers the polls it holds "not modified"; the polls after those,
	// on the next ticks, fail.
	failures := e.metric("portcullis_poll_failures_total")
	if err := e.StopControl(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.metric("portcullis_poll_failures_total") < failures+workers {
		if time.Now().After(deadline) {
			t.Fatalf("the polls did not fail: %d failures", e.metric("portcullis_poll_failures_total")-failures)
		}
		clock.Advance(50 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	start := age()
	clock.Advance(10 * time.Second)
	mid := age()
	clock.Advance(22 * time.Second)
	end := age()
	if mid < start+9 || end < mid+21 || end <= 30 {
		t.Fatalf("policy age %d → %d → %d over 10 s and 22 s; want it to grow with the clock past 30", start, mid, end)
	}
	code, body := ready()
	if code != 503 || !strings.Contains(body, "the policy in force was last confirmed by the control server") || !strings.Contains(body, "more than the 30s allowed") {
		t.Fatalf("/readyz with a stale policy: %d %q", code, body)
	}
	if errs := logs.with("ERROR portcullis: cannot refresh the policy: the poll was answered with status 503"); len(errs) == 0 {
		t.Fatalf("no error log with the reason; error lines: %q", logs.with("ERROR"))
	}
	if leaked := logs.with(e.PluginConfigToken(t)); len(leaked) > 0 {
		t.Fatalf("the data-plane token was logged: %q", leaked)
	}
	e.expectSteady(t, k.Key, http.StatusOK) // still enforcing the last policy
	e.expectSteady(t, "", http.StatusUnauthorized)

	if err := e.StartControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The polls now reach the server, which holds them up to a (real) second; the filter's
	// clock moves one tick per 100 ms of real time, slower than real time, so a held poll
	// answers "not modified" well before its timeout on that clock.
	deadline = time.Now().Add(10 * time.Second)
	for code, body = ready(); code != 200; code, body = ready() {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after the restart: %d %q", code, body)
		}
		clock.Advance(50 * time.Millisecond)
		time.Sleep(100 * time.Millisecond)
	}
	if back := logs.with("the control server answers again"); len(back) == 0 {
		t.Fatal("the recovery is not logged")
	}
}
