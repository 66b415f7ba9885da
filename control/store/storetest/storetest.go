// Package storetest is the conformance suite every store.Store implementation passes.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// Open returns a new, empty, migrated store; the test closes it.
type Open func(t *testing.T) store.Store

// Run runs the suite; each subtest gets its own store.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"InitialState", testInitialState},
		{"VersionBumpCommitsAndNotifies", testVersionBump},
		{"AdvanceVersionJumpsPastAndNotifies", testAdvanceVersion},
		{"FailedWriteLeavesNothing", testFailedWrite},
		{"ReadIsReadOnly", testReadOnly},
		{"SigningKeyIsSetOnce", testSigningKey},
		{"Policy", testPolicy},
		{"Keys", testKeys},
		{"KeyConflicts", testKeyConflicts},
		{"KeysInTiers", testKeysInTiers},
		{"KeysChangedSince", testKeysChangedSince},
		{"LiveKeys", testLiveKeys},
		{"InsertKeys", testInsertKeys},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"RecordUsage", testRecordUsage},
		{"ConcurrentWritesAreSerialized", testConcurrentWrites},
		{"Webhooks", testWebhooks},
		{"ReplaceSigningKey", testReplaceSigningKey},
		{"Revocations", testRevocations},
		{"JWKS", testJWKS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2030, 3, 4, 5, 6, 7, 123456789, time.UTC)
	// t0us is t0 as the store keeps it (microseconds).
	t0us = t0.Truncate(time.Microsecond)
)

func state(t *testing.T, s store.Store) store.State {
	t.Helper()
	var st store.State
	if err := s.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.State(ctx); return }); err != nil {
		t.Fatal(err)
	}
	return st
}

func testInitialState(t *testing.T, s store.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if st := state(t, s); st.Version != 1 || st.UpdatedAt.IsZero() {
		t.Fatalf("initial state = %+v, want version 1", st)
	}
	err := s.Read(ctx, func(tx store.Tx) error {
		p, err := tx.Policy(ctx)
		if err != nil {
			return err
		}
		if string(p.Document) != `{"version":1,"default_action":"deny"}` || p.Version != 1 {
			return fmt.Errorf("initial policy = %s (version %d)", p.Document, p.Version)
		}
		if seed, err := tx.SigningKey(ctx); err != nil || seed != nil {
			return fmt.Errorf("initial signing key = %x, %v", seed, err)
		}
		keys, err := tx.PublishedKeys(ctx)
		if err != nil || len(keys) != 0 {
			return fmt.Errorf("initial keys = %v, %v", keys, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testVersionBump(t *testing.T, s store.Store) {
	c, cancel := s.Subscribe()
	defer cancel()
	var got store.State
	err := s.Write(ctx, func(tx store.Tx) (err error) {
		got, err = tx.BumpVersion(ctx, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || !got.UpdatedAt.Equal(t0us) {
		t.Fatalf("BumpVersion = %+v, want version 2 at %v", got, t0us)
	}
	if st := state(t, s); st.Version != 2 || !st.UpdatedAt.Equal(t0us) {
		t.Fatalf("state after bump = %+v", st)
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not notified of the new version")
	}
	// A write that does not bump notifies nobody.
	if err := s.Write(ctx, func(tx store.Tx) error { _, err := tx.State(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
		t.Fatal("notified without a new version")
	case <-time.After(50 * time.Millisecond):
	}
}

// testAdvanceVersion: the counter jumps past a version a filter holds, once, never backwards.
func testAdvanceVersion(t *testing.T, s store.Store) {
	c, cancel := s.Subscribe()
	defer cancel()
	advance := func(past uint64) store.State {
		t.Helper()
		var got store.State
		if err := s.Write(ctx, func(tx store.Tx) (err error) { got, err = tx.AdvanceVersion(ctx, past, t0); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := advance(41); got.Version != 42 || !got.UpdatedAt.Equal(t0us) || state(t, s).Version != 42 {
		t.Fatalf("AdvanceVersion(41) = %+v, state %+v; want version 42 at %v", got, state(t, s), t0us)
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not notified of the jump")
	}
	if got := advance(10); got.Version != 42 {
		t.Fatalf("AdvanceVersion below the version moved it: %+v", got)
	}
	err := s.Read(ctx, func(tx store.Tx) error { _, err := tx.AdvanceVersion(ctx, 100, t0); return err })
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("AdvanceVersion in Read = %v, want ErrReadOnly", err)
	}
}

var errBoom = errors.New("boom")

func testFailedWrite(t *testing.T, s store.Store) {
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.BumpVersion(ctx, t0); err != nil {
			return err
		}
		if err := tx.InsertKey(ctx, key("k1", "h1")); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEntry{At: t0, Actor: "a", Action: "x", Target: "k1"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Write = %v, want fn's error", err)
	}
	if st := state(t, s); st.Version != 1 {
		t.Fatalf("version after failed write = %d, want 1", st.Version)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.Key(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("key of a failed write: %v", err)
		}
		if list, err := tx.ListAudit(ctx, 0, 10); err != nil || len(list) != 0 {
			return fmt.Errorf("audit of a failed write: %v, %v", list, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testReadOnly(t *testing.T, s store.Store) {
	err := s.Read(ctx, func(tx store.Tx) error {
		_, err := tx.BumpVersion(ctx, t0)
		return err
	})
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("BumpVersion in Read = %v, want ErrReadOnly", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error { return tx.InsertKey(ctx, key("k", "h")) })
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("InsertKey in Read = %v, want ErrReadOnly", err)
	}
}

func testSigningKey(t *testing.T, s store.Store) {
	first, second := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for i, seed := range [][]byte{first, second} {
		var got []byte
		err := s.Write(ctx, func(tx store.Tx) (err error) { got, err = tx.SetSigningKey(ctx, seed); return })
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("SetSigningKey #%d = %x, %v; want the first seed", i, got, err)
		}
	}
}

func testPolicy(t *testing.T, s store.Store) {
	want := store.Policy{Document: []byte(`{"version":1,"routes":[]}`), Version: 9, UpdatedAt: t0us}
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.PutPolicy(ctx, want) }); err != nil {
		t.Fatal(err)
	}
	var got store.Policy
	if err := s.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.Policy(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Policy = %+v, want %+v", got, want)
	}
}

func key(id, hash string) store.Key {
	return store.Key{ID: id, Name: "name " + id, Prefix: "pcs_abcd", SHA256: hash, Active: true, CreatedAt: t0, UpdatedAt: t0}
}

func testKeys(t *testing.T, s store.Store) {
	full := store.Key{ID: "k-b", Name: "B", Prefix: "pcs_bbbb", SHA256: "hb", Active: false,
		AllowedPaths: []string{"/a", "/b"}, Permissions: []string{"read"}, Admin: true, Tier: "gold",
		ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0}
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, k := range []store.Key{key("k-c", "hc"), full, key("k-a", "ha")} {
			if err := tx.InsertKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got store.Key
	if err := s.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.Key(ctx, "k-b"); return }); err != nil {
		t.Fatal(err)
	}
	want := full
	want.Seq = got.Seq
	want.ExpiresAt, want.CreatedAt, want.UpdatedAt = full.ExpiresAt.Truncate(time.Microsecond), t0us, t0us
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Key =\n%+v\nwant\n%+v", got, want)
	}

	// Update every mutable field; revoke another key.
	upd := got
	upd.Name, upd.Active, upd.AllowedPaths, upd.Permissions = "B2", true, nil, []string{"x", "y"}
	upd.Admin, upd.Staff, upd.Tier = false, true, "silver"
	upd.ExpiresAt, upd.UpdatedAt = time.Time{}, t0.Add(time.Minute)
	err = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.UpdateKey(ctx, upd); err != nil {
			return err
		}
		c, err := tx.Key(ctx, "k-c")
		if err != nil {
			return err
		}
		c.RevokedAt, c.Active = t0, false
		return tx.UpdateKey(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		g, err := tx.Key(ctx, "k-b")
		if err != nil {
			return err
		}
		upd.UpdatedAt = upd.UpdatedAt.Truncate(time.Microsecond)
		if !reflect.DeepEqual(g, upd) {
			return fmt.Errorf("after update =\n%+v\nwant\n%+v", g, upd)
		}
		pub, err := tx.PublishedKeys(ctx)
		if err != nil {
			return err
		}
		if len(pub) != 2 || pub[0].ID != "k-a" || pub[1].ID != "k-b" {
			return fmt.Errorf("PublishedKeys = %v, want k-a, k-b (revoked k-c left out, ordered by id)", ids(pub))
		}
		// Paging in creation order.
		page1, err := tx.ListKeys(ctx, 0, 2)
		if err != nil {
			return err
		}
		page2, err := tx.ListKeys(ctx, page1[len(page1)-1].Seq, 2)
		if err != nil {
			return err
		}
		if got := append(ids(page1), ids(page2)...); !reflect.DeepEqual(got, []string{"k-c", "k-b", "k-a"}) {
			return fmt.Errorf("ListKeys pages = %v", got)
		}
		if _, err := tx.Key(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Key(nope) = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx store.Tx) error { return tx.UpdateKey(ctx, key("nope", "hn")) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateKey(nope) = %v, want ErrNotFound", err)
	}
}

func ids(keys []store.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func testKeyConflicts(t *testing.T, s store.Store) {
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertKey(ctx, key("k1", "h1")) }); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]store.Key{"same id": key("k1", "h2"), "same hash": key("k2", "h1")} {
		err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertKey(ctx, k) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: InsertKey = %v, want ErrConflict", name, err)
		}
	}
}

// testKeysInTiers: the keys that still name a tier, which a policy update must keep; revoked
// keys and keys without a tier do not count.
func testKeysInTiers(t *testing.T, s store.Store) {
	tiered := func(id, hash, tier string) store.Key { k := key(id, hash); k.Tier = tier; return k }
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, k := range []store.Key{tiered("k3", "h3", "gold"), tiered("k1", "h1", "gold"), tiered("k2", "h2", "silver"),
			key("k4", "h4"), tiered("k5", "h5", "bronze")} {
			if err := tx.InsertKey(ctx, k); err != nil {
				return err
			}
		}
		k5, err := tx.Key(ctx, "k5")
		if err != nil {
			return err
		}
		k5.RevokedAt = t0
		return tx.UpdateKey(ctx, k5)
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tiers     []string
		limit     int
		wantIDs   []string
		wantTotal int
	}{
		{[]string{"gold", "silver"}, 10, []string{"k1", "k2", "k3"}, 3},
		{[]string{"gold", "silver"}, 2, []string{"k1", "k2"}, 3},
		{[]string{"gold"}, 10, []string{"k1", "k3"}, 2},
		{[]string{"bronze"}, 10, nil, 0}, // only a revoked key
		{[]string{""}, 10, []string{"k4"}, 1},
		{nil, 10, nil, 0},
	}
	for _, tc := range tests {
		err := s.Read(ctx, func(tx store.Tx) error {
			ids, total, err := tx.KeysInTiers(ctx, tc.tiers, tc.limit)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(ids, tc.wantIDs) || total != tc.wantTotal {
				return fmt.Errorf("KeysInTiers(%q, %d) = %v, %d; want %v, %d", tc.tiers, tc.limit, ids, total, tc.wantIDs, tc.wantTotal)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
}

func testTokens(t *testing.T, s store.Store) {
	a1 := store.Token{ID: "t-a1", Kind: store.KindAdmin, Role: store.RoleAdmin, Name: "root", Prefix: "pca_aaaa", SHA256: "ha1", CreatedAt: t0, CreatedBy: "system"}
	a2 := store.Token{ID: "t-a2", Kind: store.KindAdmin, Role: store.RoleReadOnly, Name: "viewer", Prefix: "pca_bbbb", SHA256: "ha2", CreatedAt: t0, CreatedBy: "t-a1"}
	d1 := store.Token{ID: "t-d1", Kind: store.KindDataplane, Name: "envoy", Prefix: "pcd_cccc", SHA256: "hd1", CreatedAt: t0, CreatedBy: "t-a1"}
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, tok := range []store.Token{a1, a2, d1} {
			if err := tx.InsertToken(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, "ha2")
	want := a2
	want.Seq, want.CreatedAt = got.Seq, t0us
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("TokenByHash = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.TokenByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenByHash(nope) = %v", err)
	}
	err = s.Write(ctx, func(tx store.Tx) error {
		tok, err := tx.Token(ctx, "t-a1")
		if err != nil {
			return err
		}
		tok.RevokedAt, tok.SHA256, tok.Prefix, tok.Name = t0, "ha1b", "pca_zzzz", "root2"
		return tx.UpdateToken(ctx, tok)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx store.Tx) error {
		return tx.InsertToken(ctx, store.Token{ID: "t-x", Kind: store.KindAdmin, SHA256: "ha2", CreatedAt: t0, CreatedBy: "x"})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate token hash: %v, want ErrConflict", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		admins, err := tx.ListTokens(ctx, store.KindAdmin, 0, 10)
		if err != nil {
			return err
		}
		if len(admins) != 2 || admins[0].ID != "t-a1" || admins[0].RevokedAt.IsZero() || admins[0].SHA256 != "ha1b" || admins[0].Name != "root2" {
			return fmt.Errorf("admin tokens = %+v", admins)
		}
		planes, err := tx.ListTokens(ctx, store.KindDataplane, 0, 10)
		if err != nil || len(planes) != 1 || planes[0].ID != "t-d1" || planes[0].Role != store.RoleNone {
			return fmt.Errorf("data-plane tokens = %+v, %v", planes, err)
		}
		after, err := tx.ListTokens(ctx, store.KindAdmin, admins[0].Seq, 10)
		if err != nil || len(after) != 1 || after[0].ID != "t-a2" {
			return fmt.Errorf("second page = %+v, %v", after, err)
		}
		for _, c := range []struct {
			kind store.TokenKind
			role store.Role
			want int
		}{{store.KindAdmin, store.RoleAdmin, 0}, {store.KindAdmin, store.RoleReadOnly, 1}, {store.KindDataplane, store.RoleNone, 1}} {
			if n, err := tx.CountActiveTokens(ctx, c.kind, c.role); err != nil || n != c.want {
				return fmt.Errorf("CountActiveTokens(%s, %q) = %d, %v; want %d", c.kind, c.role, n, err, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testAudit(t *testing.T, s store.Store) {
	err := s.Write(ctx, func(tx store.Tx) error {
		for i := range 5 {
			e := store.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "t-a1", Action: "key.create", Target: fmt.Sprint("k", i), Version: uint64(i + 2)}
			if i == 3 {
				e.Before, e.After = []byte(`{"a":1}`), []byte(`{"a":2}`)
			}
			if _, err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		first, err := tx.ListAudit(ctx, 0, 2)
		if err != nil {
			return err
		}
		if len(first) != 2 || first[0].Target != "k4" || first[1].Target != "k3" {
			return fmt.Errorf("first page = %+v", first)
		}
		e := first[1]
		if string(e.Before) != `{"a":1}` || string(e.After) != `{"a":2}` || e.Version != 5 || !e.At.Equal(t0us.Add(3*time.Second)) || e.Actor != "t-a1" || e.Action != "key.create" {
			return fmt.Errorf("entry = %+v", e)
		}
		if first[0].Before != nil || first[0].After != nil {
			return fmt.Errorf("entry without before/after = %+v", first[0])
		}
		rest, err := tx.ListAudit(ctx, e.ID, 10)
		if err != nil || len(rest) != 3 || rest[2].Target != "k0" {
			return fmt.Errorf("rest = %+v, %v", rest, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRecordUsage(t *testing.T, s store.Store) {
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertKey(ctx, key("k1", "h1")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertKey(ctx, key("k2", "h2")) }); err != nil {
		t.Fatal(err)
	}
	later, earlier := t0.Add(time.Hour), t0.Add(time.Minute)
	for _, uses := range []map[string]store.Use{
		{"k1": {Count: 3, At: later}, "unknown": {Count: 5, At: later}, "k2": {Count: 1, At: earlier}},
		{"k1": {Count: 2, At: earlier}}, // a report that arrives out of order
		nil,
	} {
		if err := s.RecordUsage(ctx, uses); err != nil {
			t.Fatal(err)
		}
	}
	var k2 store.Key
	if err := s.Read(ctx, func(tx store.Tx) (err error) { k2, err = tx.Key(ctx, "k2"); return }); err != nil {
		t.Fatal(err)
	}
	if k2.UseCount != 1 || !k2.LastUsedAt.Equal(earlier.Truncate(time.Microsecond)) {
		t.Fatalf("k2 after usage: count %d, last used %v; want 1, %v (its own time)", k2.UseCount, k2.LastUsedAt, earlier)
	}
	var k store.Key
	if err := s.Read(ctx, func(tx store.Tx) (err error) { k, err = tx.Key(ctx, "k1"); return }); err != nil {
		t.Fatal(err)
	}
	if k.UseCount != 5 || !k.LastUsedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("after usage: count %d, last used %v; want 5, %v", k.UseCount, k.LastUsedAt, later)
	}
	if st := state(t, s); st.Version != 1 {
		t.Fatalf("usage changed the version to %d", st.Version)
	}
}

// Many goroutines doing read-modify-write on the policy: every update survives, and every
// version bump is distinct.
func testConcurrentWrites(t *testing.T, s store.Store) {
	const n = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions = map[uint64]bool{}
	)
	for i := range n {
		wg.Go(func() {
			err := s.Write(ctx, func(tx store.Tx) error {
				p, err := tx.Policy(ctx)
				if err != nil {
					return err
				}
				p.Document = append(p.Document, '+')
				st, err := tx.BumpVersion(ctx, t0)
				if err != nil {
					return err
				}
				p.Version = st.Version
				if err := tx.PutPolicy(ctx, p); err != nil {
					return err
				}
				mu.Lock()
				versions[st.Version] = true
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var p store.Policy
	if err := s.Read(ctx, func(tx store.Tx) (err error) { p, err = tx.Policy(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(p.Document, []byte("+")); got != n {
		t.Fatalf("%d of %d read-modify-writes survived", got, n)
	}
	if len(versions) != n || state(t, s).Version != 1+n || p.Version != 1+n {
		t.Fatalf("versions = %v, final %d", versions, state(t, s).Version)
	}
}
