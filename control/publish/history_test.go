package publish

import (
	"strings"
	"testing"
	"time"

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

// TestHistory: the delta from any base the history reaches is the exact difference of the two
// versions; a change outside keys and revocations, or a gap, ends the history.
func TestHistory(t *testing.T) {
	var h history
	sign := func([]byte) string { return "sig" }
	versions := []*Signed{
		{Version: 3, Policy: histDoc(t, "/", []policy.Key{hk("a"), hk("b")}, "t1")},
		{Version: 4, Policy: histDoc(t, "/", []policy.Key{hk("a"), hk("b"), hk("c")}, "t1")},             // c created
		{Version: 6, Policy: histDoc(t, "/", []policy.Key{hk("a", "/x"), hk("b"), hk("c")}, "t1", "t2")}, // a updated, t2 revoked
		{Version: 7, Policy: histDoc(t, "/", []policy.Key{hk("a", "/x"), hk("b")}, "t2")},                // c removed, t1 expired
	}
	var prev *Signed
	for _, s := range versions {
		s.IssuedAt = time.Unix(int64(s.Version), 0)
		h.record(prev, s)
		prev = s
	}
	cur := versions[3]
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

	// A client whose base was issued at another time holds a version this server did not
	// publish (a restored database): no delta for it.
	if d := h.delta(4, time.Unix(4, 0).UnixMicro(), true, cur, sign); d == nil {
		t.Fatal("no delta for a base issued when this server published it")
	}
	if d := h.delta(4, time.Unix(5, 0).UnixMicro(), true, cur, sign); d != nil {
		t.Fatal("delta for a base issued at another time")
	}

	// The policy itself changes: no delta reaches across it.
	next := &Signed{Version: 8, IssuedAt: time.Unix(8, 0), Policy: histDoc(t, "/v2", []policy.Key{hk("a", "/x"), hk("b")}, "t2")}
	h.record(cur, next)
	if d := h.delta(7, 0, false, next, sign); d != nil {
		t.Fatal("delta across a policy change")
	}
	// A key id whose hash changed cannot be found by the filter's table: no delta either.
	moved := hk("b")
	moved.SHA256 = strings.Repeat("f", 64)
	last := &Signed{Version: 9, IssuedAt: time.Unix(9, 0), Policy: histDoc(t, "/v2", []policy.Key{hk("a", "/x"), moved}, "t2")}
	h.record(next, last)
	if d := h.delta(8, 0, false, last, sign); d != nil {
		t.Fatal("delta for a key whose hash changed")
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
