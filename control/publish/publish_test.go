package publish_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/shared/snapshot"
)

var (
	ctx  = context.Background()
	t0   = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	priv = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub  = priv.Public().(ed25519.PublicKey)
)

func openStore(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hash(i int) string { return fmt.Sprintf("%064x", i+1) }

func testKey(id string, i int) store.Key {
	return store.Key{ID: id, Name: "n-" + id, Prefix: "pcs_abcd", SHA256: hash(i), Active: true, CreatedAt: t0, UpdatedAt: t0}
}

func TestBuild(t *testing.T) {
	keys := []store.Key{testKey("k-b", 1), testKey("k-a", 2)}
	keys[0].Active, keys[0].AllowedPaths, keys[0].ExpiresAt = false, []string{"/x"}, t0.Add(time.Hour)
	keys[0].Admin, keys[1].Staff = true, true
	pol := []byte(`{"version":1,"routes":[{"name":"api","match":{"path_prefix":"/api"},"auth":{"type":"api_key"}}]}`)
	s, err := publish.Build(store.State{Version: 7, UpdatedAt: t0}, pol, keys, priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Verify(pub, s.Payload, s.Signature); err != nil {
		t.Fatalf("published snapshot does not verify: %v", err)
	}
	d, err := snapshot.Decode(s.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 7 || !d.IssuedAt.Equal(t0) || len(d.Policy.Routes) != 1 || d.Policy.Keys[0].ID != "k-a" ||
		d.Policy.Keys[1].Active || d.Policy.Keys[1].AllowedPaths[0] != "/x" || !d.Policy.Keys[1].ExpiresAt.Equal(t0.Add(time.Hour)) ||
		!d.Policy.Keys[1].Admin || d.Policy.Keys[1].Staff || d.Policy.Keys[0].Admin || !d.Policy.Keys[0].Staff {
		t.Fatalf("decoded snapshot = %+v, keys %+v", d, d.Policy.Keys)
	}
	if s.Engine == nil || s.Engine.KeyCount() != 2 || s.Engine.RouteCount() != 1 {
		t.Fatal("no compiled engine")
	}
	// Same input, same bytes: what lets replicas serve identical snapshots.
	again, _ := publish.Build(store.State{Version: 7, UpdatedAt: t0}, pol, []store.Key{keys[1], keys[0]}, priv)
	if !bytes.Equal(again.Payload, s.Payload) || again.Signature != s.Signature {
		t.Fatal("Build is not deterministic")
	}
}

func TestBuildRejects(t *testing.T) {
	good := []byte(`{"version":1}`)
	bad := testKey("k", 1)
	bad.Permissions = []string{"not valid!"}
	for _, tc := range []struct {
		name string
		pol  []byte
		keys []store.Key
		priv ed25519.PrivateKey
		want string
	}{
		{"invalid stored policy", []byte(`{"version":1,"routes":[{}]}`), nil, priv, "routes[0].auth: required"},
		{"invalid key", good, []store.Key{bad}, priv, "policy.keys[0].permissions[0]"},
		{"duplicate key hash", good, []store.Key{testKey("a", 1), testKey("b", 1)}, priv, "duplicates keys[0].sha256"},
		{"no signing key", good, nil, nil, "signing key is 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := publish.Build(store.State{Version: 2, UpdatedAt: t0}, tc.pol, tc.keys, tc.priv)
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %v, %v; want an error containing %q", s, err, tc.want)
			}
		})
	}
}

func bump(t testing.TB, st store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	err := st.Write(ctx, func(tx store.Tx) error {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		_, err := tx.BumpVersion(ctx, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefresh(t *testing.T) {
	st := openStore(t)
	reg := metrics.NewRegistry()
	p := publish.New(st, priv, publish.Options{Metrics: reg})
	if p.Current() != nil {
		t.Fatal("snapshot before the first build")
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	first := p.Current()
	if first == nil || first.Version != 1 {
		t.Fatalf("first snapshot = %+v", first)
	}
	changed := p.Changed()
	if err := p.Refresh(ctx); err != nil || p.Current() != first {
		t.Fatalf("refresh without a change rebuilt: %v", err)
	}
	select {
	case <-changed:
		t.Fatal("Changed closed without a change")
	default:
	}

	bump(t, st, func(tx store.Tx) error { return tx.InsertKey(ctx, testKey("k1", 1)) })
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v := p.Current().Version; v != 2 || len(p.Current().Policy.Keys) != 1 {
		t.Fatalf("after a change: version %d, %d keys", v, len(p.Current().Policy.Keys))
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed by a new snapshot")
	}

	// A version that cannot be built (a key the filter would reject, written behind the admin
	// layer's back) is not published; the previous one stays.
	bad := testKey("k2", 2)
	bad.AllowedPaths = []string{"no-slash"}
	bump(t, st, func(tx store.Tx) error { return tx.InsertKey(ctx, bad) })
	if err := p.Refresh(ctx); err == nil {
		t.Fatal("an invalid snapshot was built")
	}
	if v := p.Current().Version; v != 2 {
		t.Fatalf("published version after a failed build = %d, want 2", v)
	}
	var b strings.Builder
	reg.WriteTo(&b)
	for _, want := range []string{"portcullis_control_snapshot_builds_total 2", "portcullis_control_snapshot_build_failures_total 1", "portcullis_control_snapshot_version 2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	if !bytes.Equal(p.PublicKey(), pub) {
		t.Fatal("PublicKey is not the signing key's")
	}
}

func TestRefreshStoreError(t *testing.T) {
	st := openStore(t)
	p := publish.New(st, priv, publish.Options{})
	st.Close()
	if err := p.Refresh(ctx); err == nil || p.Current() != nil {
		t.Fatalf("Refresh on a closed store = %v", err)
	}
}

// Run picks up a change from the store's notification; with a fake clock the periodic
// re-check cannot be what found it.
func TestRunFollowsNotifications(t *testing.T) {
	st := openStore(t)
	fake := clock.NewFake(t0)
	p := publish.New(st, priv, publish.Options{Clock: fake, Recheck: time.Hour})
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	changed := p.Changed()
	waitFor(t, func() bool { return fake.Timers() == 1 }) // Run is waiting
	bump(t, st, nil)
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not publish the new version")
	}
	wantPublished(t, p, 2)
	cancel()
	<-done
}

// A change committed after the first build but before Run subscribed sends no notification
// Run can see; Run still publishes it at once, without waiting for the re-check.
func TestRunPublishesChangesMadeBeforeItStarted(t *testing.T) {
	st := openStore(t)
	fake := clock.NewFake(t0)
	p := publish.New(st, priv, publish.Options{Clock: fake, Recheck: time.Hour})
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	changed := p.Changed()
	bump(t, st, nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not publish the version committed before it started")
	}
	wantPublished(t, p, 2)
	cancel()
	<-done
}

// Without notifications (another process wrote to SQLite, or a notification was lost), the
// periodic re-check publishes the new version.
func TestRunRechecks(t *testing.T) {
	st := openStore(t)
	fake := clock.NewFake(t0)
	p := publish.New(quiet{st}, priv, publish.Options{Clock: fake, Recheck: 5 * time.Second})
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.Run(runCtx)
	changed := p.Changed()
	waitFor(t, func() bool { return fake.Timers() == 1 })
	bump(t, st, nil)
	select {
	case <-changed:
		t.Fatal("published without a notification or a re-check")
	case <-time.After(50 * time.Millisecond):
	}
	fake.Advance(5 * time.Second)
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the re-check did not publish the new version")
	}
}

// quiet is a store whose notifications are lost.
type quiet struct{ store.Store }

func (quiet) Subscribe() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// wantPublished checks that v is the head and that its full snapshot follows.
func wantPublished(t *testing.T, p *publish.Publisher, v uint64) {
	t.Helper()
	if got := p.Head().Version; got != v {
		t.Fatalf("published version = %d, want %d", got, v)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	full, err := p.Full(wctx, v)
	if err != nil || full.Version != v {
		t.Fatalf("full snapshot of %d: %v", v, err)
	}
}
