// Package jwks fetches the key sets of JWT providers that name a jwks_uri, validates them and
// stores each change as a new snapshot version, so the keys reach the filters like any policy
// change. The filter never fetches keys; when a fetch fails, the last good set stays published.
//
// Fetches are conditional: the ETag of the last good set goes out as If-None-Match, and a
// 304 means that set is still the issuer's.
package jwks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// Refresh bounds: a key set is fetched again after its Cache-Control max-age, clamped to
// [MinInterval, MaxInterval]; DefaultInterval without one; RetryInterval after a failure.
const (
	MinInterval     = time.Minute
	MaxInterval     = time.Hour
	DefaultInterval = 5 * time.Minute
	RetryInterval   = 30 * time.Second
	maxBody         = 256 << 10
)

// Options tune a Fetcher.
type Options struct {
	Client *http.Client // default: 10 s timeout, no redirects
	Clock  clock.Clock  // default clock.Real
	Logger *slog.Logger
	// MinInterval overrides the lower bound of the refresh interval (tests).
	MinInterval time.Duration
	// Metrics, if set, receives the fetcher's metrics.
	Metrics *metrics.Registry
}

// Fetcher keeps the stored key sets of every jwks_uri in the policy up to date.
type Fetcher struct {
	store store.Store
	opts  Options

	mu     sync.Mutex
	status map[string]Status
	last   map[string]lastGood

	// failures counts failed refreshes by provider name: the label's values are the names of
	// the policy's providers (at most policy.MaxJWTProviders at a time, changed only by an
	// admin), never anything an issuer or a client sends, so the series stay bounded.
	failures *metrics.CounterVec
}

// lastGood is the last set of one URI that was fetched, validated and stored, as the issuer
// sent it (before the policy's algorithms filtered it), with its ETag: a 304 answer means
// this set, which is then validated again against the policy of the moment.
type lastGood struct {
	etag string
	keys []policy.JWK
}

// Status is the outcome of the last fetch of one URI.
type Status struct {
	URI     string `json:"uri"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Keys    int    `json:"keys"`
	Changed bool   `json:"changed"`
	// NotModified says the issuer answered 304 to If-None-Match: the last good set stands.
	NotModified bool      `json:"not_modified,omitempty"`
	FetchedAt   time.Time `json:"fetched_at"`
	NextAt      time.Time `json:"next_at"`
}

// New returns a Fetcher on st.
func New(st store.Store, opts Options) *Fetcher {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = MinInterval
	}
	reg := opts.Metrics
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	return &Fetcher{store: st, opts: opts, status: map[string]Status{}, last: map[string]lastGood{},
		failures: reg.CounterVec("portcullis_control_jwks_fetch_failures_total",
			"Key-set refreshes that failed (fetch, validation or storage), by provider naming the jwks_uri; the last good set stays published.",
			"provider")}
}

// providers returns the stored policy's providers that name a jwks_uri.
func (f *Fetcher) providers(ctx context.Context) (*policy.Document, error) {
	var pol store.Policy
	if err := f.store.Read(ctx, func(tx store.Tx) (err error) { pol, err = tx.Policy(ctx); return }); err != nil {
		return nil, err
	}
	return policy.Parse(pol.Document)
}

// RefreshAll fetches every jwks_uri of the policy now and returns each outcome.
func (f *Fetcher) RefreshAll(ctx context.Context) ([]Status, error) {
	doc, err := f.providers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, uri := range uris(doc) {
		out = append(out, f.refresh(ctx, doc, uri))
	}
	return out, nil
}

// Run refreshes each URI when it is due, and a URI the policy just gained at once, until ctx
// ends.
func (f *Fetcher) Run(ctx context.Context) {
	changes, cancel := f.store.Subscribe()
	defer cancel()
	for {
		next := f.opts.Clock.Now().Add(DefaultInterval)
		if doc, err := f.providers(ctx); err == nil {
			for _, uri := range uris(doc) {
				f.mu.Lock()
				st, seen := f.status[uri]
				f.mu.Unlock()
				if !seen || !f.opts.Clock.Now().Before(st.NextAt) {
					st = f.refresh(ctx, doc, uri)
				}
				if st.NextAt.Before(next) {
					next = st.NextAt
				}
			}
		}
		wait := max(next.Sub(f.opts.Clock.Now()), time.Second)
		tick, stop := f.opts.Clock.Timer(wait)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-changes:
			stop()
		case <-tick:
		}
	}
}

func uris(doc *policy.Document) []string {
	var out []string
	for _, p := range doc.JWTProviders {
		if p.JWKSURI != "" && !contains(out, p.JWKSURI) {
			out = append(out, p.JWKSURI)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// refresh fetches one URI, validates the set against every provider that names it, and stores
// it with a version bump when it differs from the stored one.
func (f *Fetcher) refresh(ctx context.Context, doc *policy.Document, uri string) Status {
	now := f.opts.Clock.Now().UTC()
	st := Status{URI: uri, FetchedAt: now}
	f.mu.Lock()
	prev := f.last[uri]
	f.mu.Unlock()
	a, err := f.fetch(ctx, uri, prev.etag)
	var set *policy.JWKS
	switch {
	case err != nil:
	case a.notModified && prev.etag == "":
		err = errors.New("fetch: 304 Not Modified to a request without If-None-Match")
	case a.notModified:
		st.NotModified, a.etag = true, prev.etag
		set = &policy.JWKS{Keys: slices.Clone(prev.keys)}
	default:
		set = a.set
	}
	var sent []policy.JWK
	if err == nil {
		sent = slices.Clone(set.Keys) // validate keeps only the keys that fit
		err = validate(doc, uri, set)
	}
	if err == nil {
		st.Keys = len(set.Keys)
		st.Changed, err = f.save(ctx, uri, set, now)
	}
	if err != nil {
		st.Error = err.Error()
		st.NextAt = now.Add(RetryInterval)
		for _, p := range doc.JWTProviders {
			if p.JWKSURI == uri {
				f.failures.With(p.Name).Inc()
			}
		}
		f.opts.Logger.Warn("jwks fetch failed; the last good key set stays published", "uri", uri, "err", err)
	} else {
		f.mu.Lock()
		f.last[uri] = lastGood{etag: a.etag, keys: sent}
		f.mu.Unlock()
		st.OK = true
		st.NextAt = now.Add(min(max(a.maxAge, f.opts.MinInterval), MaxInterval))
		if st.Changed {
			f.opts.Logger.Info("jwks changed", "uri", uri, "keys", st.Keys)
		}
	}
	f.mu.Lock()
	f.status[uri] = st
	f.mu.Unlock()
	return st
}

// answer is what one fetch learned: a new set, or that the last one is unchanged (304); and
// for how long, and under which ETag.
type answer struct {
	set         *policy.JWKS
	notModified bool
	maxAge      time.Duration
	etag        string // "" when the issuer sent none: the next fetch is unconditional
}

// fetch GETs the key set, conditionally when etag is set, and converts it: public signing
// keys of supported types only. Private key material or an HMAC secret anywhere refuses the
// whole set (a URL never carries secrets).
func (f *Fetcher) fetch(ctx context.Context, uri, etag string) (answer, error) {
	var a answer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return a, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return a, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	a.maxAge, a.etag = maxAge(resp.Header.Get("Cache-Control")), resp.Header.Get("ETag")
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		a.notModified = true
		return a, nil
	default:
		return a, fmt.Errorf("fetch: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return a, fmt.Errorf("fetch: %w", err)
	}
	if len(body) > maxBody {
		return a, fmt.Errorf("fetch: key set larger than %d bytes", maxBody)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return a, fmt.Errorf("key set is not JSON: %w", err)
	}
	set := &policy.JWKS{Keys: []policy.JWK{}}
	for i, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				return a, fmt.Errorf("keys[%d] holds private key material (%q): refusing the whole set", i, private)
			}
		}
		s := func(name string) string { v, _ := k[name].(string); return v }
		if use := s("use"); use != "" && use != "sig" {
			continue // an encryption key
		}
		j := policy.JWK{Kty: s("kty"), Kid: s("kid"), Alg: s("alg"), Crv: s("crv"), N: s("n"), E: s("e"), X: s("x"), Y: s("y")}
		if !contains(policy.Algorithms, j.Alg) && j.Alg != "" {
			continue // an algorithm we never verify
		}
		if _, err := j.PublicKey(); err != nil {
			continue // a key type or curve we do not support, or a weak key
		}
		set.Keys = append(set.Keys, j)
	}
	a.set = set
	return a, nil
}

// maxAge reads Cache-Control's max-age (0 when absent or no-store).
func maxAge(cc string) time.Duration {
	var age time.Duration
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "no-store" || d == "no-cache" {
			return 0
		}
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				age = time.Duration(n) * time.Second
			}
		}
	}
	if age == 0 {
		return DefaultInterval
	}
	return age
}

// validate keeps, for each provider naming uri, the keys that fit its algorithms, and checks
// the result with the policy's own rules (kid present and unique when several keys, …), so a
// fetched set can never make the snapshot invalid.
func validate(doc *policy.Document, uri string, set *policy.JWKS) error {
	var fitting []policy.JWK
	for _, k := range set.Keys {
		ok := false
		for _, p := range doc.JWTProviders {
			if p.JWKSURI != uri {
				continue
			}
			for _, a := range p.Algorithms {
				ok = ok || k.Fits(a)
			}
		}
		if ok {
			fitting = append(fitting, k)
		}
	}
	if len(fitting) == 0 {
		return errors.New("no key in the set fits the provider's algorithms")
	}
	set.Keys = fitting
	for i := range doc.JWTProviders {
		if doc.JWTProviders[i].JWKSURI == uri {
			doc.JWTProviders[i].JWKS = set
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if _, err := policy.Parse(data); err != nil {
		return fmt.Errorf("key set: %w", err)
	}
	return nil
}

// save stores set when it differs from the stored one, bumping the version (audited).
func (f *Fetcher) save(ctx context.Context, uri string, set *policy.JWKS, now time.Time) (changed bool, err error) {
	data, err := json.Marshal(set)
	if err != nil {
		return false, err
	}
	err = f.store.Write(ctx, func(tx store.Tx) error {
		old, err := tx.JWKS(ctx, uri)
		if err == nil && bytes.Equal(old.Keys, data) {
			return nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutJWKS(ctx, store.FetchedJWKS{URI: uri, Keys: data, FetchedAt: now}); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		changed = true
		after, _ := json.Marshal(map[string]any{"uri": uri, "keys": len(set.Keys), "kids": kids(set)})
		_, err = tx.AppendAudit(ctx, store.AuditEntry{At: now, Actor: "system", Action: "jwks.refresh", Target: uri, Version: st.Version, After: after})
		return err
	})
	return changed, err
}

func kids(set *policy.JWKS) []string {
	out := []string{}
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// Statuses returns the last outcome of every URI fetched so far.
func (f *Fetcher) Statuses() []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Status, 0, len(f.status))
	for _, s := range f.status {
		out = append(out, s)
	}
	return out
}
