package stack_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// soakRequests is the request count of `make soak` (SOAK_REQUESTS). Zero runs the short soak
// that `make test` includes so that the harness itself is tested.
var soakRequests = flag.Int64("soak.requests", 0, "requests of the full soak (make soak); 0 runs the short soak")

// soakPlan is the shape of one soak run.
type soakPlan struct {
	requests, warmup int64         // all requests; the first warmup of them warm up
	restarts         int           // control server restarts, spread evenly over the measured part
	churnEvery       time.Duration // a key created and one revoked this often
	clients          int           // concurrent keep-alive clients
	publishLimit     time.Duration // how long a change may take to reach every VM
}

// restartAt is the answered-request count at which restart i (from 0) happens.
func (p soakPlan) restartAt(i int) int64 {
	return p.warmup + (p.requests-p.warmup)*int64(i+1)/int64(p.restarts+1)
}

// soakWarmup is the warm-up: requests without key changes, 6,000 per VM. Linear memory of a Wasm
// VM never shrinks, and Go's collector lets the heap grow to its 4 MiB minimum goal before it
// collects, so a VM's memory rises until that headroom has been used once (one VM reaches its
// plateau within 6,000 requests of the mix) and is flat from then on. Key changes during the
// warm-up would hide the plateau: every snapshot apply ends in a forced collection, so the
// headroom would fill only later, in steps, whenever applies pause.
const soakWarmup = 6_000 * workers

// Bounds on growth between the end of the warm-up and the end of the run, both measured with
// the load stopped. After the warm-up, growth of a VM's memory is the filter's live heap
// growing; goroutines and descriptors come and go with connections and long polls, which the
// slack covers (a per-request leak would show as thousands).
const (
	vmGrowthBound   = 1 << 20 // bytes per VM
	goroutineSlack  = 10
	descriptorSlack = 10
)

// TestSoak sends requests through the whole stack (control server on SQLite, the compiled
// filter on worker VMs, the gateway, the echo upstream) — allowed, denied, with bodies, with
// several keys — while keys are created and revoked every second and the control server is
// restarted. Every answer is checked against the state of its key when it was sent: a change
// is in force once every VM enforces it (the churner asks each VM), and both answers are right
// only during that publish cycle. Nothing may be decided wrongly, and VM memory, goroutines and
// file descriptors must not grow after the warm-up.
//
// make test runs it short (10,000 requests after the warm-up, one restart); make soak runs
// SOAK_REQUESTS (default 1,000,000) with two restarts.
func TestSoak(t *testing.T) {
	plan := soakPlan{requests: soakWarmup + 10_000, warmup: soakWarmup, restarts: 1, churnEvery: time.Second, clients: 8, publishLimit: 30 * time.Second}
	if n := *soakRequests; n > 0 {
		plan.requests, plan.warmup, plan.restarts = n, max(n/20, soakWarmup), 2
	}
	if plan.warmup >= plan.requests {
		t.Fatalf("soak of %d requests: at least %d are needed past the warm-up", plan.requests, plan.warmup)
	}
	e := start(t, stores[0].cfg(t), func(c *stack.Config) { c.Control.InitialPolicy = soakPolicy })
	e.api.HTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}

	// Stable keys, on every VM before the load starts; the first is limited to /public/.
	ctx := context.Background()
	var stable []soakKey
	for i := range 4 {
		in := stack.NewKey{Name: fmt.Sprintf("stable-%d", i)}
		if i == 0 {
			in.AllowedPaths = []string{"/public/"}
		}
		k, _, err := e.api.CreateKey(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		stable = append(stable, soakKey{id: k.ID, raw: k.Key, created: time.Now()})
	}
	e.waitStatus(t, stable[len(stable)-1].raw, http.StatusOK, time.Now(), 10*time.Second)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: plan.clients}}
	ring := &keyring{}
	l := &load{e: e, client: client, ring: ring, stable: stable, seed: uint64(time.Now().UnixNano())}
	errs := make(chan error, 16)
	ch := &churner{e: e, plan: plan, ring: ring, done: l.answered.Load, log: t.Logf, errs: errs}
	l.run(plan.clients, plan.warmup, nil)
	warm := measure(t, e, client, e.api.HTTP)
	churnCtx, stopChurn := context.WithCancel(ctx)
	churnDone := make(chan struct{})
	go func() { ch.run(churnCtx); close(churnDone) }()
	defer func() { stopChurn(); <-churnDone }()
	// The harness must exercise what it claims — the restarts, keys changing both ways, churned
	// keys that had to be allowed and refused — however fast the requests go: past the count,
	// the load goes on until it has, for at most two minutes.
	exercised := func() bool {
		return ch.restarts.Load() == int64(plan.restarts) && ch.created.Load() >= 6 && ch.revoked.Load() >= 2 &&
			l.churnAllowed.Load() > 0 && l.churnDenied.Load() > 0
	}
	began := time.Now()
	var overtime atomic.Int64 // when the count was reached, unix nanoseconds
	l.run(plan.clients, plan.requests, func() bool {
		overtime.CompareAndSwap(0, time.Now().UnixNano())
		return !exercised() && time.Since(time.Unix(0, overtime.Load())) < 2*time.Minute
	})
	took := time.Since(began)
	stopChurn()
	<-churnDone
	end := measure(t, e, client, e.api.HTTP)

	answered := l.answered.Load()
	measured := answered - plan.warmup
	t.Logf("soak: %d requests (%d warm-up, %d measured) in %v: %.0f req/s over the measured part",
		answered, plan.warmup, measured, took.Round(time.Millisecond), float64(measured)/took.Seconds())
	t.Logf("soak: wrong decisions %d, no answer %d; churn answers that had to be 200: %d, 401: %d, inside a publish cycle: %d",
		l.wrong.Load(), l.failed.Load(), l.churnAllowed.Load(), l.churnDenied.Load(), l.graceAnswers.Load())
	t.Logf("soak: keys created %d, revoked %d; control server restarts %d; snapshots applied %d, poll failures %d",
		ch.created.Load(), ch.revoked.Load(), ch.restarts.Load(), e.Applied(), e.metric("portcullis_poll_failures_total"))
	slices.Sort(ch.publish)
	if n := len(ch.publish); n > 0 {
		t.Logf("soak: publish cycle (change sent → every VM enforcing it) over %d changes: median %v, max %v",
			n, ch.publish[n/2].Round(time.Millisecond), ch.publish[n-1].Round(time.Millisecond))
	}
	t.Logf("soak: VM linear memory after the warm-up %s, at the end %s (bound +%d KiB per VM)", mib(warm.vm), mib(end.vm), vmGrowthBound>>10)
	t.Logf("soak: goroutines %d → %d, file descriptors %d → %d (slack %d, %d)",
		warm.goroutines, end.goroutines, warm.fds, end.fds, goroutineSlack, descriptorSlack)

	for _, r := range l.reports {
		t.Error(r)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l.wrong.Load() != 0 || l.failed.Load() != 0 {
		t.Errorf("%d wrong decisions, %d requests without an answer", l.wrong.Load(), l.failed.Load())
	}
	if answered < plan.requests {
		t.Errorf("%d requests answered, want %d", answered, plan.requests)
	}
	if !exercised() {
		t.Errorf("the soak did not exercise enough: %d restarts (want %d), %d keys created, %d revoked, %d churn answers judged 200, %d judged 401",
			ch.restarts.Load(), plan.restarts, ch.created.Load(), ch.revoked.Load(), l.churnAllowed.Load(), l.churnDenied.Load())
	}
	for i := range warm.vm {
		if end.vm[i] > warm.vm[i]+vmGrowthBound {
			t.Errorf("vm %d: linear memory grew from %d to %d bytes after the warm-up", i, warm.vm[i], end.vm[i])
		}
	}
	if end.goroutines > warm.goroutines+goroutineSlack {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, end.goroutines)
	}
	if end.fds > warm.fds+descriptorSlack {
		t.Errorf("file descriptors grew from %d to %d", warm.fds, end.fds)
	}
}

// usage is what must not grow: per-VM linear memory, goroutines, open file descriptors.
type usage struct {
	vm              []uint64
	goroutines, fds int
}

// measure waits for the stack to be idle (clients' idle connections closed, so the servers'
// connection goroutines end) and takes the lowest goroutine and descriptor counts of a few
// samples: what stays is what the stack holds, not what a request in passing did.
func measure(t *testing.T, e env, clients ...*http.Client) usage {
	t.Helper()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	u := usage{goroutines: 1 << 30, fds: 1 << 30}
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		u.goroutines = min(u.goroutines, runtime.NumGoroutine())
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("counting file descriptors: %v", err)
		}
		u.fds = min(u.fds, len(fds))
	}
	for _, vm := range e.Host().VMs() {
		if vm.Failed {
			t.Fatalf("vm %d failed during the soak", vm.Index)
		}
		u.vm = append(u.vm, vm.MemoryBytes)
	}
	return u
}

func mib(sizes []uint64) string {
	s := ""
	for i, b := range sizes {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2f", float64(b)/(1<<20))
	}
	return s + " MiB"
}
