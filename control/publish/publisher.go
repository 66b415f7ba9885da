package publish

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Publisher keeps the current signed snapshot.
type Publisher struct {
	store store.Store
	priv  ed25519.PrivateKey
	opts  Options

	build   sync.Mutex // one build at a time
	current atomic.Pointer[Signed]
	hist    history

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when current changes

	m publisherMetrics
}

// Options tune New.
type Options struct {
	Clock clock.Clock // default clock.Real
	// Recheck is how often Run re-reads the version even without a notification (default
	// 5 s): the fallback when a notification is lost.
	Recheck time.Duration
	Logger  *slog.Logger
	// Metrics, if set, receives the publisher's metrics.
	Metrics *metrics.Registry
	// Sealer opens the stored webhook secrets; without it a store with verifiers fails to
	// publish.
	Sealer *seal.Sealer
}

type publisherMetrics struct {
	builds, failures *metrics.Counter
	version, bytes   *metrics.Gauge
	seconds          *metrics.Histogram
}

// New returns a Publisher that signs with priv. Call Refresh once before serving, then Run.
func New(st store.Store, priv ed25519.PrivateKey, opts Options) *Publisher {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Recheck <= 0 {
		opts.Recheck = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Metrics
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	p := &Publisher{store: st, priv: priv, opts: opts, changed: make(chan struct{})}
	p.m = publisherMetrics{
		builds:   reg.Counter("portcullis_control_snapshot_builds_total", "Snapshots built and signed."),
		failures: reg.Counter("portcullis_control_snapshot_build_failures_total", "Snapshot builds that failed; the previous snapshot stays published."),
		version:  reg.Gauge("portcullis_control_snapshot_version", "Version of the published snapshot."),
		bytes:    reg.Gauge("portcullis_control_snapshot_bytes", "Size of the published snapshot payload."),
		seconds:  reg.Histogram("portcullis_control_snapshot_build_duration_seconds", "Duration of snapshot builds (read, sign, encode).", metrics.DurationBuckets),
	}
	return p
}

// PublicKey is the key filters verify snapshots with.
func (p *Publisher) PublicKey() ed25519.PublicKey { return p.priv.Public().(ed25519.PublicKey) }

// Current returns the published snapshot, or nil before the first successful build.
func (p *Publisher) Current() *Signed { return p.current.Load() }

// Delta returns the signed delta from version base to cur (the published snapshot), or nil
// when there is none to give (the history does not reach back to base, the policy document
// changed since, the delta would be too large, or the client's base was issued at another time
// than the one this server published — a version from before a restore): then the full
// snapshot serves. issued is the client's issued_at in Unix microseconds, if it sent one.
func (p *Publisher) Delta(base uint64, issued int64, hasIssued bool, cur *Signed) *SignedDelta {
	if cur == nil || base == 0 || base >= cur.Version {
		return nil
	}
	return p.hist.delta(base, issued, hasIssued, cur, func(payload []byte) string { return snapshot.SignDelta(p.priv, payload) })
}

// Freshness signs the statement "version is current as of now, in answer to the poll that
// sent nonce" (snapshot.FreshnessHeader). Signing per answer costs tens of microseconds; it is
// what lets a filter tell this answer from a replayed one.
func (p *Publisher) Freshness(version uint64, nonce string) string {
	return snapshot.SignFreshness(p.priv, version, p.opts.Clock.Now(), nonce)
}

// maxJump bounds how far past its own version a poll can move the counter (see CatchUp), so
// a data-plane token cannot run the counter out.
const maxJump = 1 << 32

// CatchUp handles a filter that holds version held, at or above the published one, that this
// server did not publish (the caller tells): the database was restored from an older backup,
// and the versions it would publish next (or published since) name other content in that
// filter. It moves the store's version counter past held, in
// a transaction, and publishes: the filter then gets a full snapshot newer than what it holds.
// Every replica learns of the jump as of any new version.
func (p *Publisher) CatchUp(ctx context.Context, held uint64) error {
	cur := p.current.Load()
	if cur == nil || held < cur.Version {
		return nil
	}
	if held-cur.Version > maxJump {
		return fmt.Errorf("a filter holds version %d, more than %d past the published %d: refusing to jump", held, maxJump, cur.Version)
	}
	err := p.store.Write(ctx, func(tx store.Tx) error {
		_, err := tx.AdvanceVersion(ctx, held, p.opts.Clock.Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("advance the version past %d: %w", held, err)
	}
	p.opts.Logger.Warn("a filter holds a version above the published one (was the database restored from a backup?); moved the version past it",
		"held", held, "published", cur.Version)
	return p.Refresh(ctx)
}

// Changed returns a channel that is closed when the published snapshot changes. Read it before
// Current to not miss a change in between.
func (p *Publisher) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Refresh publishes the store's current version if it is newer than the published one. On
// failure the previous snapshot stays published.
func (p *Publisher) Refresh(ctx context.Context) error {
	p.build.Lock()
	defer p.build.Unlock()
	cur := p.current.Load()
	start := time.Now()
	var (
		st    store.State
		pol   store.Policy
		keys  []store.Key
		hooks []store.Webhook
		revs  []store.Revocation
		jwks  map[string][]byte
		skip  bool
	)
	err := p.store.Read(ctx, func(tx store.Tx) (err error) {
		if st, err = tx.State(ctx); err != nil {
			return err
		}
		if cur != nil && st.Version <= cur.Version {
			skip = true
			return nil
		}
		if pol, err = tx.Policy(ctx); err != nil {
			return err
		}
		if keys, err = tx.PublishedKeys(ctx); err != nil {
			return err
		}
		if hooks, err = tx.Webhooks(ctx); err != nil {
			return err
		}
		if revs, err = tx.ListRevocations(ctx); err != nil {
			return err
		}
		jwks, err = fetchedKeySets(ctx, tx, pol.Document)
		return err
	})
	if err != nil {
		return fmt.Errorf("refresh snapshot: %w", err)
	}
	if skip {
		return nil
	}
	s, err := p.buildWith(st, Inputs{Policy: pol.Document, Keys: keys, Revocations: revs, JWKS: jwks}, hooks)
	if err != nil {
		p.m.failures.Inc()
		return err
	}
	// The history first: a poll woken by the change below may ask for a delta to s.
	p.hist.record(cur, s)
	p.current.Store(s)
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	p.m.builds.Inc()
	p.m.version.Set(float64(s.Version))
	p.m.bytes.Set(float64(len(s.Payload)))
	p.m.seconds.ObserveDuration(time.Since(start))
	p.opts.Logger.Info("published snapshot", "version", s.Version, "routes", len(s.Policy.Routes), "keys", len(s.Policy.Keys),
		"bytes", len(s.Payload), "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// buildWith opens the verifiers' secrets and builds the snapshot.
func (p *Publisher) buildWith(st store.State, in Inputs, hooks []store.Webhook) (*Signed, error) {
	if len(hooks) == 0 {
		return BuildFrom(st, in, p.priv)
	}
	if p.opts.Sealer == nil {
		return nil, fmt.Errorf("build snapshot %d: %d webhook verifiers and no master key to open them", st.Version, len(hooks))
	}
	docs, err := verifier.OpenAll(p.opts.Sealer, hooks)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	merged, err := verifier.Merge(in.Policy, docs)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	in.Policy = merged
	return BuildFrom(st, in, p.priv)
}

// Run refreshes whenever the store reports a change, and every Recheck in case a notification
// was lost, until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	changes, cancel := p.store.Subscribe()
	defer cancel()
	for {
		// Refresh before waiting, the first time too: a change committed before Subscribe
		// (between the server's first build and this goroutine starting) sends no notification.
		// With nothing new, Refresh only reads the version.
		if err := p.Refresh(ctx); err != nil && ctx.Err() == nil {
			p.opts.Logger.Error("snapshot not published; the previous one stays", "err", err)
		}
		tick, stop := p.opts.Clock.Timer(p.opts.Recheck)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-changes:
		case <-tick:
		}
		stop()
	}
}

// fetchedKeySets reads the stored key set of every jwks_uri the policy names.
func fetchedKeySets(ctx context.Context, tx store.Tx, policyJSON []byte) (map[string][]byte, error) {
	doc, err := policy.Parse(policyJSON)
	if err != nil {
		return nil, nil // Build reports the invalid policy
	}
	var out map[string][]byte
	for _, p := range doc.JWTProviders {
		if p.JWKSURI == "" {
			continue
		}
		j, err := tx.JWKS(ctx, p.JWKSURI)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		if out == nil {
			out = map[string][]byte{}
		}
		out[p.JWKSURI] = j.Keys
	}
	return out, nil
}
