package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// testKeysChangedSince: every key write counts as changed by the version its transaction bumped
// to, whether it was written before or after the bump, and a write in a transaction that bumped
// nothing counts as the next bumping transaction's — the publisher builds deltas from this.
func testKeysChangedSince(t *testing.T, s store.Store) {
	write := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	bump := func(tx store.Tx) error { _, err := tx.BumpVersion(ctx, t0); return err }
	v0 := state(t, s).Version
	write(func(tx store.Tx) error { // v0+1: a key inserted before the bump, one after
		if err := tx.InsertKey(ctx, key("k-a", "ha")); err != nil {
			return err
		}
		if err := bump(tx); err != nil {
			return err
		}
		return tx.InsertKeys(ctx, []store.Key{key("k-b", "hb")})
	})
	write(func(tx store.Tx) error { return tx.InsertKey(ctx, key("k-c", "hc")) }) // no bump
	write(func(tx store.Tx) error {                                               // v0+2: k-a revoked (after the bump); k-c's write lands here
		if err := bump(tx); err != nil {
			return err
		}
		k := key("k-a", "ha")
		k.Active, k.RevokedAt = false, t0us.Add(time.Second)
		return tx.UpdateKey(ctx, k)
	})

	type got struct {
		id               string
		created, changed uint64
		revoked          bool
	}
	read := func(after, upTo uint64) []got {
		t.Helper()
		var cs []store.KeyChange
		err := s.Read(ctx, func(tx store.Tx) (err error) { cs, err = tx.KeysChangedSince(ctx, after, upTo); return err })
		if err != nil {
			t.Fatal(err)
		}
		var out []got
		for _, c := range cs {
			out = append(out, got{c.ID, c.CreatedVersion - v0, c.ChangedVersion - v0, !c.RevokedAt.IsZero()})
		}
		return out
	}
	tests := []struct {
		name        string
		after, upTo uint64
		want        []got
	}{
		{"everything", v0, v0 + 2, []got{{"k-a", 1, 2, true}, {"k-b", 1, 1, false}, {"k-c", 2, 2, false}}},
		{"the first version", v0, v0 + 1, []got{{"k-b", 1, 1, false}}},
		{"the second version", v0 + 1, v0 + 2, []got{{"k-a", 1, 2, true}, {"k-c", 2, 2, false}}},
		{"nothing newer", v0 + 2, v0 + 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if g := read(tc.after, tc.upTo); !slices.Equal(g, tc.want) {
				t.Fatalf("KeysChangedSince(%d, %d) = %+v, want %+v (versions relative to %d)", tc.after, tc.upTo, g, tc.want, v0)
			}
		})
	}
}

// testLiveKeys: revoked keys stay stored but are not counted.
func testLiveKeys(t *testing.T, s store.Store) {
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertKeys(ctx, []store.Key{key("k-1", "h1"), key("k-2", "h2"), key("k-3", "h3")}); err != nil {
			return err
		}
		k := key("k-2", "h2")
		k.Active, k.RevokedAt = false, t0us
		return tx.UpdateKey(ctx, k)
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ever int64
	err = s.Read(ctx, func(tx store.Tx) (err error) {
		if n, err = tx.LiveKeys(ctx); err != nil {
			return err
		}
		ever, err = tx.KeysEverStored(ctx)
		return err
	})
	if err != nil || n != 2 || ever < 3 {
		t.Fatalf("LiveKeys = %d, KeysEverStored = %d, %v; want 2 and at least 3", n, ever, err)
	}
}
