package stack_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/api"
	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/postgres"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/e2e/stack"
	"github.com/portcullis/portcullis/e2e/wasmhost"
	"github.com/portcullis/portcullis/shared/policy"
)

// BenchmarkPublishLatency measures what an operator waits for: from POST /v1/keys to every
// worker VM having applied the new snapshot (one VM per core, as Envoy's --concurrency
// default), on both stores, with a small policy and with 10,000 keys already stored. Each
// iteration is one key creation; the p50/p99/max metrics are over the iterations, so run it
// with -benchtime=100x or more for a meaningful p99.
//
// -publish.keys sets the key counts (default 10 and 10,000); at 1,000,000 the seeding takes
// minutes and each VM holds the whole table (≈ 200 MiB each while applying):
//
//	go test -run '^$' -bench 'PublishLatency/sqlite' -benchtime=30x -timeout 1h ./e2e/stack -args -publish.keys=1000000
func BenchmarkPublishLatency(b *testing.B) {
	for _, keys := range benchCounts(b, *publishKeys) {
		for _, st := range stores {
			b.Run(fmt.Sprintf("%s/keys=%d", st.name, keys), func(b *testing.B) {
				cfg := st.cfg(b)
				// The admin API's own rate limit would otherwise end a long run with 429s.
				cfg.RateLimit = api.DefaultRateLimit()
				cfg.RateLimit.AdminRate, cfg.RateLimit.AdminBurst = 1000, 1000
				// One key below the count, so that the policy holds it with the benchmark's key
				// (at most policy.MaxKeys, 1,000,000, in a snapshot).
				e := start(b, seedKeys(b, cfg, min(keys, policy.MaxKeys-1)), func(c *stack.Config) {
					c.Workers = 0
					if keys >= 1000 {
						c.Control.InitialPolicy = largePolicy(1000)
					}
					if keys >= 100_000 { // a full snapshot of 11 MB (100k) to 113 MB (1M) per VM
						c.ReadyTimeout, c.PollTimeout = 15*time.Minute, 2*time.Minute // the filter's maximum
						c.MaxCallResponseBytes = 256 << 20                            // the filter's own bound
					}
				})
				vms := int64(len(e.Host().VMs()))
				ctx := context.Background()
				applyBefore, _ := e.Host().Metric("portcullis_snapshot_apply_duration_milliseconds")
				var (
					lat     []time.Duration
					created string
				)
				for b.Loop() {
					before := e.Applied()
					t0 := time.Now()
					// Creations and revocations alternate, so the count stays within what a
					// snapshot holds at 1,000,000 keys.
					if created == "" {
						k, _, err := e.api.CreateKey(ctx, stack.NewKey{Name: "bench"})
						if err != nil {
							b.Fatal(err)
						}
						created = k.ID
					} else {
						if err := e.api.RevokeKey(ctx, created); err != nil {
							b.Fatal(err)
						}
						created = ""
					}
					if err := e.WaitApplied(ctx, int(before+vms), 30*time.Second); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				slices.Sort(lat)
				at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
				b.ReportMetric(at(0.5), "p50-ms")
				b.ReportMetric(at(0.99), "p99-ms")
				b.ReportMetric(at(1), "max-ms")
				b.ReportMetric(float64(vms), "vms")
				// The filter's own measure of each apply (verify, decode, compile), averaged.
				applyAfter, _ := e.Host().Metric("portcullis_snapshot_apply_duration_milliseconds")
				if n := applyAfter.Count - applyBefore.Count; n > 0 {
					b.ReportMetric(float64(applyAfter.Sum-applyBefore.Sum)/float64(n), "apply-ms")
				}
			})
		}
	}
}

var publishKeys = flag.String("publish.keys", "10,10000", "comma-separated key counts for BenchmarkPublishLatency")

// benchCounts parses a comma-separated list of counts.
func benchCounts(b *testing.B, list string) []int {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("bad count %q in %q", f, list)
		}
		out = append(out, n)
	}
	return out
}

// largePolicy is routes API-key routes (svc<i>.example.com, /svc/<i>/), the shape of the apply
// target, then a catch-all API-key route so that the benchmarks' probe requests match too.
func largePolicy(routes int) []byte {
	var b strings.Builder
	b.WriteString(`{"version": 1, "routes": [`)
	for i := range routes {
		fmt.Fprintf(&b, `{"name": "route-%04d", "match": {"hosts": ["svc%d.example.com"], "path_prefix": "/svc/%d/", "methods": ["GET", "POST"]}, "auth": {"type": "api_key"}},`, i, i, i)
	}
	b.WriteString(`{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`)
	return []byte(b.String())
}

// seedKeys stores n keys directly (one transaction, one version), before the control server
// starts: creating them through the API would measure the seeding, not the publishing. Each key
// has an allowed path, two permissions and an expiry, like the keys of the apply target.
func seedKeys(b *testing.B, cfg server.Config, n int) server.Config {
	b.Helper()
	ctx := context.Background()
	var (
		st  store.Store
		err error
	)
	if cfg.DatabaseURL != "" {
		st, err = postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, cfg.DataPath)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.BumpVersion(ctx, now); err != nil { // first: the keys are written with it
			return err
		}
		batch := make([]store.Key, 0, 10_000)
		for i := range n {
			sum := sha256.Sum256(fmt.Appendf(nil, "pcs_seeded_key_%08d", i))
			k := store.Key{ID: fmt.Sprintf("key_seed%06d", i), Name: fmt.Sprintf("seeded %d", i), Prefix: "pcs_seed",
				SHA256: hex.EncodeToString(sum[:]), Active: true, CreatedAt: now, UpdatedAt: now,
				AllowedPaths: []string{fmt.Sprintf("/svc/%d/", i%1000)}, Permissions: []string{"read", "write"},
				ExpiresAt: now.AddDate(5, 0, 0)}
			if batch = append(batch, k); len(batch) == cap(batch) || i == n-1 {
				if err := tx.InsertKeys(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkRequestsDuringApply measures request latency through the filter (host streams, no
// HTTP) while the policy holds 10,000 keys, first quiet, then while a key is created every
// 300 ms so that every VM keeps applying 10,000-key snapshots. Each VM applies on its own
// worker, as in Envoy: a request waits only when its own VM is applying. Compare the p99 and
// max of the two runs.
func BenchmarkRequestsDuringApply(b *testing.B) {
	cfg := seedKeys(b, stores[0].cfg(b), 10_000)
	e := start(b, cfg, func(c *stack.Config) {
		c.Workers = 0
		c.Control.InitialPolicy = largePolicy(1000)
	})
	k := e.createKey(b, "load")
	probe := [][2]string{{":method", "GET"}, {":path", "/anything"}, {":authority", "bench"}, {"x-api-key", k.Key}}
	if err := e.WaitStatus(context.Background(), probe, 200, 30*time.Second); err != nil {
		b.Fatal(err)
	}
	for _, publishing := range []bool{false, true} {
		b.Run(map[bool]string{false: "quiet", true: "publishing"}[publishing], func(b *testing.B) {
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for publishing {
					select {
					case <-stop:
						return
					case <-time.After(300 * time.Millisecond):
						e.api.CreateKey(context.Background(), stack.NewKey{Name: "churn"})
					}
				}
			}()
			var lat []time.Duration
			applied := e.Applied()
			for b.Loop() {
				t0 := time.Now()
				s := e.Host().NewStream(wasmhost.StreamInfo{})
				r := s.RequestHeaders(probe, true)
				s.Done()
				lat = append(lat, time.Since(t0))
				if r.Action != wasmhost.Continue {
					b.Fatalf("request not allowed: %v", r.Action)
				}
			}
			close(stop)
			<-done
			slices.Sort(lat)
			at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(at(0.5), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(at(0.999), "p999-ms")
			b.ReportMetric(at(1), "max-ms")
			// Linear memory of the largest VM, after it applied 10,000-key snapshots.
			var most uint64
			for _, vm := range e.Host().VMs() {
				most = max(most, vm.MemoryBytes)
			}
			b.ReportMetric(float64(most)/(1<<20), "vm-MiB")
			b.ReportMetric(float64(e.Applied()-applied), "applies")
		})
	}
}
