package publish

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

func histDoc(t *testing.T, prefix string, keys []policy.Key, revoked ...string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(`{"version": 1, "routes": [{"name": "r", "match": {"path_prefix": "` + prefix + `"}, "auth": {"type": "api_key"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	doc.Keys = keys
	for _, j := range revoked {
		doc.RevokedTokens = append(doc.RevokedTokens, policy.Revocation{JTI: j, ExpiresAt: time.Unix(4e9, 0)})
	}
	return doc
}

func hk(id string, paths ...string) policy.Key {
	return policy.Key{ID: id, SHA256: strings.Repeat(id[:1]+"0", 32), Active: true, AllowedPaths: paths}
}

// TestHistory: steps built from the changed rows compose into the exact difference between any
// base the history reaches and the head; a gap ends the history.
func TestHistory(t *testing.T) {
	var h history
	sign := func([]byte) string { return "sig" }
	head := func(v uint64, revoked ...string) *Head {
		return newHead(v, time.Unix(int64(v), 0), histDoc(t, "/", nil, revoked...))
	}
	changed := func(id string, created uint64, revoked bool, paths ...string) store.KeyChange {
		k := hk(id, paths...)
		c := store.KeyChange{Key: store.Key{ID: k.ID, SHA256: k.SHA256, Active: true, AllowedPaths: k.AllowedPaths}, CreatedVersion: created}
		if revoked {
			c.Active, c.RevokedAt = false, time.Unix(1, 0)
		}
		return c
	}
	heads := []*Head{head(3, "t1"), head(4, "t1"), head(6, "t1", "t2"), head(7, "t2")}
	writes := [][]store.KeyChange{
		{changed("c", 4, false)},                       // c created
		{changed("a", 1, false, "/x")},                 // a updated, t2 revoked
		{changed("c", 4, true), changed("e", 7, true)}, // c revoked, e created and revoked at once; t1 expired
	}
	for i, w := range writes {
		h.record(stepFromWrite(heads[i], heads[i+1], w), 0)
	}
	cur := heads[3]
	for _, tc := range []struct {
		base uint64
		want string // put ids / removed ids / put jtis / removed jtis; "" = no delta
	}{
		{3, "a /  / t2 / t1"},
		{4, "a / c / t2 / t1"},
		{6, " / c /  / t1"},
		{5, ""}, // never published here
		{2, ""}, // before the history
	} {
		d := h.delta(tc.base, 0, false, cur, sign)
		if tc.want == "" {
			if d != nil {
				t.Errorf("base %d: got a delta, want none", tc.base)
			}
			continue
		}
		if d == nil {
			t.Fatalf("base %d: no delta", tc.base)
		}
		dd, err := snapshot.DecodeDelta(d.Payload)
		if err != nil {
			t.Fatal(err)
		}
		got := summary(dd.Changes)
		if got != tc.want || dd.Base != tc.base || dd.Version != 7 {
			t.Errorf("base %d: %d→%d %q, want %q", tc.base, dd.Base, dd.Version, got, tc.want)
		}
	}
	if c, ok := h.keyChanges(4, 7); !ok || summary(c) != "a / c / t2 / t1" {
		t.Errorf("keyChanges(4, 7) = %v %v", c, ok)
	}

	// A client whose base was issued at another time holds a version this server did not
	// publish (a restored database): no delta for it.
	if d := h.delta(4, time.Unix(4, 0).UnixMicro(), true, cur, sign); d == nil {
		t.Fatal("no delta for a base issued when this server published it")
	}
	if d := h.delta(4, time.Unix(5, 0).UnixMicro(), true, cur, sign); d != nil {
		t.Fatal("delta for a base issued at another time")
	}

	// A step that does not follow the last one starts the history over.
	h.record(stepFromWrite(head(9), head(10), nil), 0)
	if d := h.delta(7, 0, false, head(10), sign); d != nil {
		t.Fatal("delta across a gap")
	}
	if d := h.delta(9, 0, false, head(10), sign); d == nil {
		t.Fatal("no delta from the new start")
	}
}

// TestHistoryKeepsStepsOfUnbuiltVersions: beyond maxSteps the oldest steps go, except those the
// next full snapshot is built from.
func TestHistoryKeepsStepsOfUnbuiltVersions(t *testing.T) {
	var h history
	doc := histDoc(t, "/", nil)
	for v := uint64(1); v <= maxSteps+10; v++ {
		h.record(stepFromWrite(newHead(v, time.Unix(int64(v), 0), doc), newHead(v+1, time.Unix(int64(v+1), 0), doc), nil), 5)
	}
	if _, ok := h.keyChanges(5, maxSteps+11); !ok {
		t.Fatal("the steps after the newest full snapshot (5) were dropped")
	}
	if _, ok := h.keyChanges(4, maxSteps+11); ok {
		t.Fatal("a step the full snapshot no longer needs was kept beyond maxSteps")
	}
}

func summary(c *policy.Changes) string {
	var put, rm, rput, rrm []string
	for _, k := range c.PutKeys {
		put = append(put, k.ID)
	}
	for _, k := range c.RemoveKeys {
		rm = append(rm, k.ID)
	}
	for _, r := range c.PutRevocations {
		rput = append(rput, r.JTI)
	}
	rrm = c.RemoveRevocations
	return strings.Join(put, ",") + " / " + strings.Join(rm, ",") + " / " + strings.Join(rput, ",") + " / " + strings.Join(rrm, ",")
}
