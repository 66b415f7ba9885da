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
)

// Publisher keeps the current signed snapshot.
type Publisher struct {
	store store.Store
	priv  ed25519.PrivateKey
	opts  Options

	build   sync.Mutex // one build at a time
	current atomic.Pointer[Signed]

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
