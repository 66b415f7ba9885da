package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
)

// TestSnapshotDeltas: a filter that says it takes deltas gets the change, not the policy; every
// answer carries a freshness statement for the version it ends at, signed as it is written.
func TestSnapshotDeltas(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		pub := e.pub.PublicKey()
		v0 := e.pub.Current().Version
		open := func(held uint64, r response) *snapshot.Answer {
			t.Helper()
			a, err := snapshot.Open(pub, held, "test-nonce", snapshot.Reply{
				NotModified: r.status == http.StatusNotModified, Kind: r.header.Get(snapshot.PayloadHeader),
				Signature: r.header.Get(snapshot.SignatureHeader), Freshness: r.header.Get(snapshot.FreshnessHeader), Body: r.body})
			if err != nil {
				t.Fatalf("answer to a client at %d (%d %v) refused: %v", held, r.status, r.header, err)
			}
			return a
		}
		next := func(held uint64, query string, change func()) *snapshot.Answer {
			t.Helper()
			done := e.poll(held, query)
			e.waitTimers(1)
			change()
			return open(held, <-done)
		}

		var created map[string]any
		a := next(v0, "&delta=1&nonce=test-nonce", func() { created, _ = e.createKey(map[string]any{"name": "first"}) })
		if a.Delta == nil || a.Delta.Base != v0 || a.Delta.Version != v0+1 || len(a.Delta.Changes.PutKeys) != 1 ||
			a.Delta.Changes.PutKeys[0].ID != created["id"] || len(a.Delta.Changes.RemoveKeys) != 0 {
			t.Fatalf("delta for a created key: %+v", a.Delta)
		}

		// Without delta=1 (an older filter): the full snapshot.
		if a := open(v0, e.do("GET", "/v1/snapshot?nonce=test-nonce&version="+strconv.FormatUint(v0, 10), dataplaneToken, nil)); a.Snapshot == nil || a.Snapshot.Keys.Len() != 1 {
			t.Fatalf("client without deltas got %+v", a)
		}

		a = next(v0+1, "&delta=1&nonce=test-nonce", func() {
			if r := e.do("DELETE", "/v1/keys/"+created["id"].(string), adminToken, nil); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
		})
		if a.Delta == nil || len(a.Delta.Changes.RemoveKeys) != 1 || a.Delta.Changes.RemoveKeys[0].ID != created["id"] || len(a.Delta.Changes.PutKeys) != 0 {
			t.Fatalf("delta for a revoked key: %+v", a.Delta)
		}
		// Two versions behind: one delta to the current version, in which the creation and the
		// revocation cancel out.
		r := e.do("GET", "/v1/snapshot?nonce=test-nonce&delta=1&version="+strconv.FormatUint(v0, 10), dataplaneToken, nil)
		if a := open(v0, r); a.Delta == nil || a.Delta.Version != v0+2 || !a.Delta.Changes.Empty() {
			t.Fatalf("delta across two versions: %+v", a.Delta)
		}

		// A "not modified" names the current version as of the time it is written.
		e.fake.Advance(3 * time.Minute)
		r = e.do("GET", "/v1/snapshot?nonce=test-nonce&wait=0&delta=1&version="+strconv.FormatUint(v0+2, 10), dataplaneToken, nil)
		if a := open(v0+2, r); a.Fresh.Version != v0+2 || !a.Fresh.At.Equal(e.clock.Now().Truncate(time.Millisecond)) || a.Fresh.Nonce != "test-nonce" {
			t.Fatalf("not-modified statement: %+v at %v", a.Fresh, e.clock.Now())
		}
		// An unknown base (a client that never held it, or history lost): the full snapshot.
		r = e.do("GET", "/v1/snapshot?nonce=test-nonce&delta=1&version=1", dataplaneToken, nil)
		if a := open(1, r); v0 > 1 && a.Snapshot == nil {
			t.Fatalf("unknown base answered with %+v", a)
		}
		// A nonce that cannot be one (";" separates the statement) is refused.
		if r := e.do("GET", "/v1/snapshot?wait=0&nonce=a%3Bb", dataplaneToken, nil); r.status != http.StatusBadRequest {
			t.Fatalf("nonce with a separator: %d", r.status)
		}
	})
}

// TestSnapshotPollFromAhead: a control server restored from an older backup learns from a poll
// that a filter holds a version above its own, moves its version past it, and answers with a
// full snapshot the filter accepts as newer.
func TestSnapshotPollFromAhead(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		held := e.pub.Current().Version + 1000
		r := e.do("GET", "/v1/snapshot?nonce=test-nonce&wait=0&delta=1&version="+strconv.FormatUint(held, 10), dataplaneToken, nil)
		a, err := snapshot.Open(e.pub.PublicKey(), held, "test-nonce", snapshot.Reply{
			Kind: r.header.Get(snapshot.PayloadHeader), Signature: r.header.Get(snapshot.SignatureHeader),
			Freshness: r.header.Get(snapshot.FreshnessHeader), Body: r.body})
		if err != nil || a.Snapshot == nil || a.Snapshot.Version != held+1 {
			t.Fatalf("poll from ahead: %d, %+v, %v", r.status, a, err)
		}
		if v := e.pub.Current().Version; v != held+1 {
			t.Fatalf("published version %d, want %d", v, held+1)
		}
		// The same version number issued at another time (published before a restore, or a
		// write on the restored database got there first): also moved past.
		cur := e.pub.Current()
		same := "/v1/snapshot?nonce=test-nonce&wait=0&version=" + strconv.FormatUint(cur.Version, 10) + "&issued="
		if r := e.do("GET", same+strconv.FormatInt(cur.IssuedAt.UnixMicro(), 10), dataplaneToken, nil); r.status != http.StatusNotModified {
			t.Fatalf("poll at the current version, issued when published: %d", r.status)
		}
		r = e.do("GET", same+strconv.FormatInt(cur.IssuedAt.UnixMicro()-1, 10), dataplaneToken, nil)
		if r.status != http.StatusOK || r.header.Get(snapshot.PayloadHeader) != snapshot.KindSnapshot || e.pub.Current().Version != cur.Version+1 {
			t.Fatalf("poll at the current version issued at another time: %d %v, published %d", r.status, r.header, e.pub.Current().Version)
		}
		held = cur.Version // the published version is now held+1
		// Absurd versions do not run the counter out.
		r = e.do("GET", "/v1/snapshot?wait=0&version=18446744073709551615", dataplaneToken, nil)
		if r.status != http.StatusNotModified || e.pub.Current().Version != held+1 {
			t.Fatalf("poll at 2^64-1: %d, published %d", r.status, e.pub.Current().Version)
		}
	})
}

// TestPollFreshnessFormats: a filter that asks for version 2 statements (fresh=2) gets one
// naming the answer's body; one that does not — a filter older than this server — gets the
// previous format, which it can check. Either is taken by the current client.
func TestPollFreshnessFormats(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	pub := e.pub.PublicKey()
	v0 := e.pub.Current().Version
	for _, tc := range []struct {
		name, query string
		status      int
		v1          bool
	}{
		{"snapshot, version 2 asked", "&fresh=2", http.StatusOK, false},
		{"snapshot, previous format", "", http.StatusOK, true},
		{"not modified, version 2 asked", "&fresh=2&wait=0", http.StatusNotModified, false},
		{"not modified, previous format", "&wait=0", http.StatusNotModified, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := uint64(0)
			if tc.status == http.StatusNotModified {
				held = v0
			}
			r := e.do("GET", "/v1/snapshot?nonce=n1&version="+strconv.FormatUint(held, 10)+tc.query, dataplaneToken, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			f, err := snapshot.VerifyFreshness(pub, r.header.Get(snapshot.FreshnessHeader))
			if err != nil || f.V1 != tc.v1 {
				t.Fatalf("statement %q: %+v, %v; want previous format %v", r.header.Get(snapshot.FreshnessHeader), f, err, tc.v1)
			}
			_, err = snapshot.Open(pub, held, "n1", snapshot.Reply{NotModified: r.status == http.StatusNotModified,
				Kind: r.header.Get(snapshot.PayloadHeader), Signature: r.header.Get(snapshot.SignatureHeader),
				Freshness: r.header.Get(snapshot.FreshnessHeader), Body: r.body})
			if err != nil {
				t.Fatalf("answer refused: %v", err)
			}
		})
	}
}
