package stack_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// soakKey is one API key of the soak and the times its state changed. A change is in force
// once every VM enforces it, which the churner confirms by asking each VM directly; between
// sending a change and that confirmation (one publish cycle) both answers are right. The
// filter cannot know a key before CreateKey returns (the raw key is only in its answer), and
// cannot refuse it before RevokeKey is sent.
type soakKey struct {
	id, raw  string
	created  time.Time // CreateKey returned
	active   time.Time // every VM allows it; zero until confirmed
	revoking time.Time // RevokeKey was sent; zero while the key is in use
	revoked  time.Time // every VM refuses it; zero until confirmed (or forever, if that failed)
}

// verdict is what an answer for a key must be.
type verdict int

const (
	either    verdict = iota // inside a publish cycle: 200 and 401 are both right
	mustAllow                // in force on every VM: 200 with the key's identity
	mustDeny                 // revoked on every VM: 401 invalid_credentials
)

// expect judges a request sent at sent and answered at answered against k's history.
func (k soakKey) expect(sent, answered time.Time) verdict {
	if k.revoking.IsZero() || answered.Before(k.revoking) {
		if !k.active.IsZero() && sent.After(k.active) {
			return mustAllow
		}
		return either
	}
	if !k.revoked.IsZero() && sent.After(k.revoked) {
		return mustDeny
	}
	return either
}

// keyring holds the churned keys; workers pick from it while the churner adds and revokes.
type keyring struct {
	mu   sync.RWMutex
	keys []*soakKey // in creation order
}

func (r *keyring) add(k *soakKey) {
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.mu.Unlock()
}

// pick returns a copy of a key: half the time one of the four newest (active or freshly
// revoked), otherwise any key ever created (mostly long revoked). ok is false while empty.
func (r *keyring) pick(n uint64) (k soakKey, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.keys) == 0 {
		return k, false
	}
	if n%2 == 0 {
		return *r.keys[len(r.keys)-1-int(n/2%uint64(min(4, len(r.keys))))], true
	}
	return *r.keys[int(n/2%uint64(len(r.keys)))], true
}

// state returns the key's history as it is now.
func (r *keyring) state(id string) soakKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := len(r.keys) - 1; i >= 0; i-- {
		if r.keys[i].id == id {
			return *r.keys[i]
		}
	}
	panic("soak: unknown key " + id)
}

// oldestActive returns the oldest key not being revoked, if more than keep are active.
func (r *keyring) oldestActive(keep int) *soakKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	var active []*soakKey
	for _, k := range r.keys {
		if k.revoking.IsZero() {
			active = append(active, k)
		}
	}
	if len(active) <= keep {
		return nil
	}
	// Mark it now, under the lock and before the request is sent: from here on the filter may
	// refuse it (see soakKey.expect).
	active[0].revoking = time.Now()
	return active[0]
}

// set records a confirmation time in k under the lock.
func (r *keyring) set(field *time.Time, at time.Time) {
	r.mu.Lock()
	*field = at
	r.mu.Unlock()
}

// churner changes keys every plan.churnEvery (one created, the oldest of more than three
// active revoked) and restarts the control server when the load passes each restart point.
// Nothing else calls the admin API, so a restart never cuts a change in half.
type churner struct {
	e                          env
	plan                       soakPlan
	ring                       *keyring
	done                       func() int64 // requests answered so far
	log                        func(format string, args ...any)
	errs                       chan<- error
	created, revoked, restarts atomic.Int64

	mu      sync.Mutex
	publish []time.Duration // each change, from sending it to every VM enforcing it
}

func (c *churner) run(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	next, progress := time.Now(), time.Now().Add(time.Minute)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Now().After(progress) { // a long soak shows it is alive
			var mem []uint64
			for _, vm := range c.e.Host().VMs() {
				mem = append(mem, vm.MemoryBytes)
			}
			c.log("soak: %d of %d requests answered, %d keys created, %d restarts, VM memory %s",
				c.done(), c.plan.requests, c.created.Load(), c.restarts.Load(), mib(mem))
			progress = time.Now().Add(time.Minute)
		}
		if n := c.restarts.Load(); n < int64(c.plan.restarts) && c.done() >= c.plan.restartAt(int(n)) {
			c.restart(ctx)
			continue
		}
		if time.Now().After(next) {
			c.churn(ctx)
			next = time.Now().Add(c.plan.churnEvery)
		}
	}
}

func (c *churner) churn(ctx context.Context) {
	n := c.created.Load()
	sent := time.Now()
	k, _, err := c.e.api.CreateKey(ctx, stack.NewKey{Name: fmt.Sprintf("churn-%d", n)})
	if err != nil {
		c.fail(ctx, fmt.Errorf("creating churn key %d: %w", n, err))
		return
	}
	nk := &soakKey{id: k.ID, raw: k.Key, created: time.Now()}
	c.ring.add(nk)
	c.created.Add(1)
	if !c.confirm(ctx, nk, http.StatusOK, sent, &nk.active) {
		return
	}
	if old := c.ring.oldestActive(3); old != nil {
		if err := c.e.api.RevokeKey(ctx, old.id); err != nil {
			c.fail(ctx, fmt.Errorf("revoking %s: %w", old.id, err)) // stays "either" from here on
			return
		}
		c.revoked.Add(1)
		c.confirm(ctx, old, http.StatusUnauthorized, old.revoking, &old.revoked)
	}
}

// confirm waits until every VM answers want for the key, records when in field, and the
// publish cycle since the change was sent.
func (c *churner) confirm(ctx context.Context, k *soakKey, want int, sent time.Time, field *time.Time) bool {
	probe := [][2]string{{":method", "GET"}, {":path", "/svc/probe"}, {":authority", "soak"}, {"x-api-key", k.raw}}
	if err := c.e.WaitStatus(ctx, probe, want, c.plan.publishLimit); err != nil {
		c.fail(ctx, fmt.Errorf("key %s: not %d on every VM: %w", k.id, want, err))
		return false
	}
	now := time.Now()
	c.ring.set(field, now)
	c.mu.Lock()
	c.publish = append(c.publish, now.Sub(sent))
	c.mu.Unlock()
	return true
}

// restart stops the control server, leaves it down for a second (the filter keeps enforcing
// what it has), and starts it again on the same store and address.
func (c *churner) restart(ctx context.Context) {
	if err := c.e.StopControl(); err != nil {
		c.fail(ctx, fmt.Errorf("stopping the control server: %w", err))
	}
	time.Sleep(time.Second)
	if err := c.e.StartControl(ctx); err != nil {
		c.fail(ctx, fmt.Errorf("starting the control server again: %w", err))
	}
	c.e.api.HTTP.CloseIdleConnections()
	c.restarts.Add(1)
}

// fail reports err, unless the soak is over and ended the call in flight.
func (c *churner) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	select {
	case c.errs <- err:
	default:
	}
}
