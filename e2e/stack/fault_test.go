package stack_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// faultCase is one row of the fault table (README.md, "When things fail"). Every row runs the same story: a
// key in force and a revoked key are on every VM; the fault starts; a change is committed; the
// fault's metric and log line move; meanwhile the key in force keeps working, the revoked key
// and requests without a key keep being refused (nothing fails open), and the change is not
// in force unless the row says it gets through; the fault ends; the change is in force on
// every VM (no committed change is lost) and the old keys still hold.
type faultCase struct {
	name     string
	postgres bool   // the control server's store is PostgreSQL behind a cutter (else SQLite)
	module   string // the filter module ("": portcullis.wasm)
	edit     func(*stack.Config)
	inject   func(t *testing.T, f *faultEnv)
	// commit makes the changes during the fault and says what each key must get once they
	// are in force; nil creates one key through the admin API, to be allowed.
	commit func(t *testing.T, f *faultEnv) []change
	moves  string   // a filter metric that moves by at least one per VM during the fault
	still  []string // filter metrics that must not move during the fault
	log    string   // a line logged during the fault (filter, host, control server)
	// arrives: the changes are in force during the fault already (the fault slows or
	// degrades the channel without breaking it).
	arrives bool
	heal    func(t *testing.T, f *faultEnv)
	after   func(t *testing.T, f *faultEnv) // more checks once healed
}

// change is a key committed during a fault and the answer it must get once in force.
type change struct {
	key  string
	want int
}

const (
	faultLimit   = 20 * time.Second // for a metric or log line to move, for recovery
	arrivalLimit = 10 * time.Second // for a change to get through a degraded channel
)

func TestFaults(t *testing.T) {
	for _, c := range faults {
		t.Run(c.name, func(t *testing.T) { runFault(t, c) })
	}
}

func runFault(t *testing.T, c faultCase) {
	t0 := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(t0).Seconds(), what) }
	f := startFault(t, c)
	step("stack started")
	ctx := context.Background()
	inForce := f.createKey(t, "in force")
	revoked := f.createKey(t, "revoked")
	// Allowed everywhere first: a VM that never saw the key refuses it too, so only a 401
	// after a 200 means the revocation is in force there.
	f.inForce(t, revoked.Key, http.StatusOK, true, faultLimit)
	if err := f.api.RevokeKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	f.inForce(t, inForce.Key, http.StatusOK, true, faultLimit)
	f.inForce(t, revoked.Key, http.StatusUnauthorized, true, faultLimit)

	step("a key in force and a revoked key on every VM")
	before := map[string]int64{}
	for _, m := range append([]string{c.moves}, c.still...) {
		if m != "" {
			before[m] = f.metric(m)
		}
	}
	logged := f.logs.count(c.log)
	if c.inject != nil {
		c.inject(t, f)
	}
	commit := c.commit
	if commit == nil {
		commit = func(t *testing.T, f *faultEnv) []change {
			return []change{{f.createKey(t, "during the fault").Key, http.StatusOK}}
		}
	}
	step("fault injected")
	changes := commit(t, f)
	step("change committed")

	if c.moves != "" {
		f.waitMetric(t, c.moves, before[c.moves]+f.vms, faultLimit)
	}
	if c.log != "" {
		f.logs.wait(t, c.log, logged, faultLimit)
	}
	step("metric and log moved")
	f.holds(t, inForce.Key, http.StatusOK)
	f.holds(t, revoked.Key, http.StatusUnauthorized)
	f.holds(t, "", http.StatusUnauthorized)
	for _, ch := range changes {
		if c.arrives {
			f.inForce(t, ch.key, ch.want, false, arrivalLimit)
		} else {
			f.holds(t, ch.key, http.StatusUnauthorized)
		}
	}
	for _, m := range c.still {
		if got := f.metric(m); got != before[m] {
			t.Errorf("%s moved from %d to %d during the fault", m, before[m], got)
		}
	}

	step("the last good policy held")
	if c.heal != nil {
		c.heal(t, f)
	}
	for _, ch := range changes {
		f.inForce(t, ch.key, ch.want, true, faultLimit)
	}
	step("healed: the change is in force on every VM")
	f.holds(t, inForce.Key, http.StatusOK)
	f.holds(t, revoked.Key, http.StatusUnauthorized)
	if c.after != nil {
		c.after(t, f)
	}
}

// shortPolls makes polls short enough for the timeouts of a row to pass within a test: held
// for 1 s, failing after timeout.
func shortPolls(timeout time.Duration) func(*stack.Config) {
	return func(c *stack.Config) { c.WaitSeconds, c.PollTimeout = 1, timeout }
}

var faults = []faultCase{
	{
		name: "control server killed mid-long-poll",
		inject: func(t *testing.T, f *faultEnv) {
			f.waitHeldPolls(t)
			f.poll.cut() // the held polls are reset, new connections refused
			f.restartControl(t)
		},
		moves: "portcullis_poll_failures_total",
		log:   "the poll was answered with status 503",
		heal:  func(t *testing.T, f *faultEnv) { f.poll.restore(t) },
	},
	{
		name:   "control server hanging (accepts, never answers)",
		edit:   shortPolls(2 * time.Second),
		inject: func(t *testing.T, f *faultEnv) { f.poll.hang() },
		moves:  "portcullis_poll_failures_total",
		log:    "the poll was answered with status 504",
		heal:   func(t *testing.T, f *faultEnv) { f.poll.restore(t) },
	},
	{
		name:    "control server answering slowly, within the poll timeout",
		edit:    shortPolls(5 * time.Second),
		inject:  func(t *testing.T, f *faultEnv) { f.snap.set(slow) },
		moves:   "portcullis_deltas_applied_total", // key changes travel as deltas
		still:   []string{"portcullis_poll_failures_total", "portcullis_snapshots_rejected_total"},
		log:     "applied policy version",
		arrives: true,
		heal:    func(t *testing.T, f *faultEnv) { f.snap.set("") },
	},
	{
		name:   "control server answering past the poll timeout (snapshot trickles)",
		edit:   shortPolls(2 * time.Second),
		inject: func(t *testing.T, f *faultEnv) { f.snap.set(trickle) },
		moves:  "portcullis_poll_failures_total",
		still:  []string{"portcullis_snapshots_rejected_total"},
		log:    "is unreachable or gave no answer within",
		heal:   func(t *testing.T, f *faultEnv) { f.snap.set("") },
	},
	{
		name:   "truncated snapshot (length declared to match)",
		inject: func(t *testing.T, f *faultEnv) { f.snap.set(truncate) },
		moves:  "portcullis_snapshots_rejected_total",
		still:  []string{"portcullis_poll_failures_total"},
		log:    "rejected a snapshot",
		heal:   func(t *testing.T, f *faultEnv) { f.snap.set("") },
	},
	{
		name:   "truncated snapshot (connection closed mid-body)",
		inject: func(t *testing.T, f *faultEnv) { f.snap.set(cutBody) },
		moves:  "portcullis_poll_failures_total",
		still:  []string{"portcullis_snapshots_rejected_total"},
		log:    "is unreachable or gave no answer within",
		heal:   func(t *testing.T, f *faultEnv) { f.snap.set("") },
	},
	{
		name: "oversized snapshot (over 64 MiB)",
		// Two VMs polling every half second: each attempt moves 64 MiB over loopback.
		edit:   func(c *stack.Config) { c.Workers, c.PollInterval = 2, 500*time.Millisecond },
		inject: func(t *testing.T, f *faultEnv) { f.snap.set(oversize) },
		moves:  "portcullis_poll_failures_total",
		still:  []string{"portcullis_snapshots_rejected_total"},
		log:    "is unreachable or gave no answer within",
		heal:   func(t *testing.T, f *faultEnv) { f.snap.set("") },
	},
	{
		name: "filter clock an hour ahead of the control server",
		edit: func(c *stack.Config) { c.Clock = skewed{wasmhost.RealClock(), time.Hour} },
		commit: func(t *testing.T, f *faultEnv) []change {
			// Valid for 30 more minutes by the control server's clock: already expired by the
			// filter's, which is the one that judges. Early, never late.
			soon := expiring(t, f, 30*time.Minute)
			return []change{{soon, http.StatusUnauthorized}, {f.createKey(t, "no expiry").Key, http.StatusOK}}
		},
		moves:   "portcullis_deltas_applied_total", // versions order deltas, not clocks
		still:   []string{"portcullis_snapshots_rejected_total", "portcullis_poll_failures_total"},
		arrives: true,
	},
	{
		name: "filter clock an hour behind the control server",
		edit: func(c *stack.Config) { c.Clock = skewed{wasmhost.RealClock(), -time.Hour} },
		commit: func(t *testing.T, f *faultEnv) []change {
			// Expired by the control server's clock, an hour from expiring by the filter's. The
			// next snapshot is issued after the expiry, and the filter never judges a key
			// earlier than the snapshot it holds was issued.
			gone := expiring(t, f, 2*time.Second)
			time.Sleep(2500 * time.Millisecond)
			return []change{{gone, http.StatusUnauthorized}, {f.createKey(t, "after the expiry").Key, http.StatusOK}}
		},
		moves:   "portcullis_deltas_applied_total", // key changes travel as deltas
		still:   []string{"portcullis_snapshots_rejected_total", "portcullis_poll_failures_total"},
		arrives: true,
	},
	{
		name:     "PostgreSQL restarted during a publish",
		postgres: true,
		edit:     shortPolls(3 * time.Second),
		inject: func(t *testing.T, f *faultEnv) {
			f.db.cut() // every connection reset, new ones refused: what a restart looks like
			if got := f.adminStatus(http.MethodGet, "/readyz", ""); got != http.StatusServiceUnavailable {
				t.Errorf("readyz answered %d while the database is down, want 503", got)
			}
			if got := f.adminStatus(http.MethodPost, "/v1/keys", `{"name": "lost with the database"}`); got < 500 {
				t.Errorf("a write while the database is down answered %d, want 5xx", got)
			}
		},
		// Another replica commits while this server has lost the database: the NOTIFY of that
		// commit never reaches this server.
		commit: func(t *testing.T, f *faultEnv) []change {
			k, _, err := replica(t, f.directDSN, f.api.Token, f.masterKey).CreateKey(context.Background(), stack.NewKey{Name: "committed elsewhere"})
			if err != nil {
				t.Fatal(err)
			}
			return []change{{k.Key, http.StatusOK}}
		},
		moves: "portcullis_poll_failures_total", // polls are authenticated against the database
		log:   "postgres listener disconnected",
		heal:  func(t *testing.T, f *faultEnv) { f.db.restore(t) },
		after: func(t *testing.T, f *faultEnv) {
			if f.hasKey(t, "lost with the database") {
				t.Error("the write that failed was committed after all")
			}
		},
	},
	{
		name: "SQLite disk full",
		inject: func(t *testing.T, f *faultEnv) {
			diskQuota.Store(f.dataPath, pageCount(t, f.dataPath))
			f.restartControl(t)
		},
		// Writes succeed while they fit in the pages there are, and each one that does is
		// published; the first that needs a new page fails whole.
		commit: func(t *testing.T, f *faultEnv) []change {
			var changes []change
			for i := range 200 {
				k, _, err := f.api.CreateKey(context.Background(), stack.NewKey{Name: "while full " + strconv.Itoa(i)})
				if err != nil {
					if got := f.adminStatus(http.MethodPost, "/v1/keys", `{"name": "refused while full"}`); got != http.StatusInternalServerError {
						t.Fatalf("a write on a full disk answered %d, want 500", got)
					}
					return changes
				}
				changes = append(changes, change{k.Key, http.StatusOK})
			}
			t.Fatal("200 keys fit in the database's pages: the quota does not bite")
			return nil
		},
		log:     "database or disk is full",
		arrives: true,
		heal: func(t *testing.T, f *faultEnv) {
			diskQuota.Delete(f.dataPath)
			f.restartControl(t)
		},
		after: func(t *testing.T, f *faultEnv) {
			if f.hasKey(t, "refused while full") {
				t.Error("the write refused on a full disk was committed")
			}
			f.inForce(t, f.createKey(t, "after the disk was freed").Key, http.StatusOK, true, faultLimit)
		},
	},
	{
		name:   "VM trap in one worker while the others serve",
		module: "portcullis-testhooks.wasm",
		edit:   func(c *stack.Config) { c.ReloadOnTrap, c.ReloadBackoff = true, 3*time.Second },
		inject: func(t *testing.T, f *faultEnv) {
			s := f.Host().NewStream(wasmhost.StreamInfo{})
			r := s.RequestHeaders([][2]string{{":method", "GET"}, {":path", "/anything"}, {":authority", "faults"},
				{"x-portcullis-test-trap", "1"}}, true)
			trapped := s.VM()
			s.Done()
			if r.Action != wasmhost.LocalResponse || r.Local.Status != http.StatusServiceUnavailable {
				t.Fatalf("the trapping request: %+v, want 503", r)
			}
			for _, vm := range f.Host().VMs() {
				if vm.Failed != (vm.Index == trapped) {
					t.Fatalf("vm %d failed %v; only vm %d trapped", vm.Index, vm.Failed, trapped)
				}
			}
		},
		log:     "wasm vm failed",
		arrives: true, // on the VMs that serve; the reloaded VM gets it with its first snapshot
		after: func(t *testing.T, f *faultEnv) {
			reloaded := 0
			for _, vm := range f.Host().VMs() {
				if vm.Failed || vm.Generation > 1 {
					t.Errorf("vm %+v after the reload", vm)
				}
				reloaded += vm.Generation
			}
			if reloaded != 1 {
				t.Errorf("%d reloads, want the trapped VM's one", reloaded)
			}
		},
	},
}

// expiring creates a key that expires in d by the control server's clock.
func expiring(t *testing.T, f *faultEnv, d time.Duration) string {
	t.Helper()
	at := time.Now().Add(d)
	k, _, err := f.api.CreateKey(context.Background(), stack.NewKey{Name: "expiring", ExpiresAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	return k.Key
}
