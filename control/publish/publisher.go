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

// Publisher keeps the published version (the head) and the newest full signed snapshot.
type Publisher struct {
	store store.Store
	priv  ed25519.PrivateKey
	opts  Options

	refresh sync.Mutex // one head refresh at a time
	head    atomic.Pointer[Head]
	hist    history

	build   sync.Mutex // one full build at a time
	current atomic.Pointer[Signed]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the head or current changes

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
	builds, failures, deltas *metrics.Counter
	version, bytes           *metrics.Gauge
	seconds, publish         *metrics.Histogram
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
		seconds:  reg.Histogram("portcullis_control_snapshot_build_duration_seconds", "Duration of full snapshot builds (encode, validate, sign).", metrics.DurationBuckets),
		deltas:   reg.Counter("portcullis_control_versions_published_from_write_total", "Versions published from the changed rows alone, before their full snapshot was built."),
		publish:  reg.Histogram("portcullis_control_publish_duration_seconds", "Duration from reading a new version to publishing it to polls (read, build a delta or a full snapshot).", metrics.DurationBuckets),
	}
	return p
}

// PublicKey is the key filters verify snapshots with.
func (p *Publisher) PublicKey() ed25519.PublicKey { return p.priv.Public().(ed25519.PublicKey) }

// Current returns the newest full snapshot, or nil before the first successful build. It can
// be a version behind Head while the head's full snapshot is being built.
func (p *Publisher) Current() *Signed { return p.current.Load() }

// Head returns the published version, or nil before the first successful build.
func (p *Publisher) Head() *Head { return p.head.Load() }

// Full returns a full snapshot of version at least v, waiting while it is built, until ctx
// ends.
func (p *Publisher) Full(ctx context.Context, v uint64) (*Signed, error) {
	for {
		changed := p.Changed()
		if cur := p.current.Load(); cur != nil && cur.Version >= v {
			return cur, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Delta returns the signed delta from version base to cur (the head), or nil when there is
// none to give (the history does not reach back to base, the policy document changed since,
// the delta would be too large, or the client's base was issued at another time than the one
// this server published — a version from before a restore): then the full snapshot serves.
// issued is the client's issued_at in Unix microseconds, if it sent one.
func (p *Publisher) Delta(base uint64, issued int64, hasIssued bool, cur *Head) *SignedDelta {
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
	cur := p.head.Load()
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
	// In full: the restored rows say nothing of what changed since the versions this server
	// published before the restore.
	if err := p.refreshHead(ctx, true); err != nil {
		return err
	}
	return p.buildFull()
}

// Changed returns a channel that is closed when the published snapshot changes. Read it before
// Current to not miss a change in between.
func (p *Publisher) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Refresh publishes the store's current version if it is newer than the published one, and
// builds its full snapshot. On failure the previous version stays published.
func (p *Publisher) Refresh(ctx context.Context) error {
	if err := p.refreshHead(ctx, false); err != nil {
		return err
	}
	return p.buildFull()
}

// refreshHead publishes the store's current version as the head if it is newer than the
// published one: from the keys it changed alone when everything outside keys and revocations
// is as the head has it (then the full snapshot is built later, by buildFull), else as a full
// snapshot at once (inFull: always).
func (p *Publisher) refreshHead(ctx context.Context, inFull bool) error {
	p.refresh.Lock()
	defer p.refresh.Unlock()
	head := p.head.Load()
	start := time.Now()
	var (
		st      store.State
		next    *Head
		keys    []store.Key
		changed []store.KeyChange
		delta   bool
	)
	err := p.store.Read(ctx, func(tx store.Tx) (err error) {
		if st, err = tx.State(ctx); err != nil {
			return err
		}
		if head != nil && st.Version <= head.Version && !inFull {
			return nil
		}
		doc, err := p.readOutsideKeys(ctx, tx, st)
		if err != nil {
			return err
		}
		next = newHead(st.Version, st.UpdatedAt, doc)
		if delta = head != nil && !inFull && head.sameOutside(next); delta {
			changed, err = tx.KeysChangedSince(ctx, head.Version, st.Version)
			if err != nil || len(changed) <= maxDeltaItems {
				return err
			}
			delta = false // a bulk change: a full snapshot is as cheap
		}
		keys, err = tx.PublishedKeys(ctx)
		return err
	})
	if err != nil {
		p.m.failures.Inc()
		return fmt.Errorf("refresh snapshot: %w", err)
	}
	if next == nil {
		return nil // nothing new
	}
	if delta {
		s := stepFromWrite(head, next, changed)
		next.keys = head.keysAfter(&s)
		if err := p.checkStep(&s, next); err != nil {
			p.m.failures.Inc()
			return err
		}
		// The history first: a poll woken by the change below may ask for a delta to next.
		p.hist.record(s, p.builtVersion())
		p.m.deltas.Inc()
	} else {
		next.keys = len(keys)
		full := *next.doc
		full.Keys = publishedKeys(keys)
		s, err := sealSnapshot(st.Version, st.UpdatedAt, &full, p.priv)
		if err != nil {
			p.m.failures.Inc()
			return err
		}
		p.hist.reset()
		p.setCurrent(s, start)
	}
	p.head.Store(next)
	p.m.version.Set(float64(next.Version))
	p.m.publish.ObserveDuration(time.Since(start))
	p.wake()
	p.opts.Logger.Info("published snapshot version", "version", next.Version, "from_write", delta, "keys_changed", len(changed),
		"took", time.Since(start).Round(time.Microsecond))
	return nil
}

// checkStep refuses a step the filter would refuse, before it is published: its delta must
// decode as the filter decodes it, and each key and verifier it puts must compile under the
// policy in force, each verifier it removes be unused
// (the newest full snapshot has the same policy outside keys as the head). What a full build
// checks of the whole table — a hash held by two keys — the store's unique index rules out.
func (p *Publisher) checkStep(s *step, next *Head) error {
	if err := next.checkKeyCount(); err != nil {
		return err
	}
	payload, err := snapshot.EncodeDelta(&snapshot.Delta{Base: s.base, Version: s.target, IssuedAt: next.IssuedAt, Changes: s.changes})
	if err != nil {
		return fmt.Errorf("build snapshot %d: %w", s.target, err)
	}
	d, err := snapshot.DecodeDelta(payload)
	if err != nil {
		return fmt.Errorf("build snapshot %d: %w", s.target, err)
	}
	if err := p.current.Load().Engine.CheckChanges(d.Changes); err != nil {
		return fmt.Errorf("build snapshot %d: %w", s.target, err)
	}
	return nil
}

// readOutsideKeys reads the document of state st without its keys: the stored policy with the
// verifiers' secrets opened and merged in, and the JWT state.
func (p *Publisher) readOutsideKeys(ctx context.Context, tx store.Tx, st store.State) (*policy.Document, error) {
	pol, err := tx.Policy(ctx)
	if err != nil {
		return nil, err
	}
	hooks, err := tx.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	revs, err := tx.ListRevocations(ctx)
	if err != nil {
		return nil, err
	}
	jwks, err := fetchedKeySets(ctx, tx, pol.Document)
	if err != nil {
		return nil, err
	}
	policyJSON, err := p.withVerifiers(st, pol.Document, hooks)
	if err != nil {
		return nil, err
	}
	return outsideKeys(st, Inputs{Policy: policyJSON, Revocations: revs, JWKS: jwks})
}

// buildFull builds the head's full snapshot, if the newest one is older, from the newest one
// and the steps since: no store read. Builds run one at a time; a build that finds a newer
// head builds that one.
func (p *Publisher) buildFull() error {
	p.build.Lock()
	defer p.build.Unlock()
	head, base := p.head.Load(), p.current.Load()
	switch {
	case head == nil || (base != nil && base.Version >= head.Version):
		return nil
	case base == nil: // never: the first head is built in full
		return fmt.Errorf("build snapshot %d: no full snapshot to build from", head.Version)
	}
	start := time.Now()
	changes, ok := p.hist.keyChanges(base.Version, head.Version)
	if !ok {
		p.m.failures.Inc()
		return fmt.Errorf("build snapshot %d: no history from the full snapshot %d", head.Version, base.Version)
	}
	full := *head.doc
	full.Keys = applyKeyChanges(base.Policy.Keys, changes)
	s, err := sealSnapshot(head.Version, head.IssuedAt, &full, p.priv)
	if err != nil {
		p.m.failures.Inc()
		return err
	}
	p.setCurrent(s, start)
	p.wake()
	return nil
}

// setCurrent makes s the newest full snapshot, unless a newer one is there already: a build
// from the history can finish after a full refresh published a later version (the history was
// reset meanwhile), and the newest full snapshot never goes back.
func (p *Publisher) setCurrent(s *Signed, start time.Time) {
	for {
		old := p.current.Load()
		if old != nil && old.Version >= s.Version {
			return
		}
		if p.current.CompareAndSwap(old, s) {
			break
		}
	}
	p.m.builds.Inc()
	p.m.bytes.Set(float64(len(s.Payload)))
	p.m.seconds.ObserveDuration(time.Since(start))
	p.opts.Logger.Info("built full snapshot", "version", s.Version, "routes", len(s.Policy.Routes), "keys", len(s.Policy.Keys),
		"bytes", len(s.Payload), "took", time.Since(start).Round(time.Microsecond))
}

// builtVersion is the newest full snapshot's version, 0 if none.
func (p *Publisher) builtVersion() uint64 {
	if s := p.current.Load(); s != nil {
		return s.Version
	}
	return 0
}

// wake tells the waiting polls that the head or the newest full snapshot changed.
func (p *Publisher) wake() {
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// withVerifiers opens the verifiers' secrets and merges them into the stored policy.
func (p *Publisher) withVerifiers(st store.State, policyJSON []byte, hooks []store.Webhook) ([]byte, error) {
	if len(hooks) == 0 {
		return policyJSON, nil
	}
	if p.opts.Sealer == nil {
		return nil, fmt.Errorf("build snapshot %d: %d webhook verifiers and no master key to open them", st.Version, len(hooks))
	}
	docs, err := verifier.OpenAll(p.opts.Sealer, hooks)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	merged, err := verifier.Merge(policyJSON, docs)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	return merged, nil
}

// Run refreshes whenever the store reports a change, and every Recheck in case a notification
// was lost, until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	changes, cancel := p.store.Subscribe()
	defer cancel()
	// Full snapshots are built apart, so that a slow build (seconds at a million keys) never
	// holds back the next version's delta; kicks coalesce, and a build takes the newest head.
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			if err := p.buildFull(); err != nil && ctx.Err() == nil {
				p.opts.Logger.Error("full snapshot not built; filters that need one keep waiting, deltas still serve", "err", err)
			}
		}
	}()
	for {
		// Refresh before waiting, the first time too: a change committed before Subscribe
		// (between the server's first build and this goroutine starting) sends no notification.
		// With nothing new, it only reads the version.
		if err := p.refreshHead(ctx, false); err != nil && ctx.Err() == nil {
			p.opts.Logger.Error("snapshot not published; the previous one stays", "err", err)
		}
		select {
		case kick <- struct{}{}:
		default:
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
