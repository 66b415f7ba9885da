package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// testInsertKeys: the bulk path stores exactly what InsertKey stores, in the order given;
// KeyConflicts finds stored ids and hashes across its chunks; a batch with a stored hash fails
// with ErrConflict and leaves nothing of its transaction.
func testInsertKeys(t *testing.T, s store.Store) {
	const n = 2500 // more than one chunk of KeyConflicts
	batch := make([]store.Key, n)
	for i := range batch {
		batch[i] = key(fmt.Sprintf("bulk-%05d", i), fmt.Sprintf("hash-%05d", i))
	}
	batch[7] = store.Key{ID: "bulk-00007", Name: "full", Prefix: "pcs_full", SHA256: "hash-00007", Active: false,
		AllowedPaths: []string{"/a"}, Permissions: []string{"read", "write"}, Admin: true, Staff: true, Tier: "gold",
		ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	// Lists with characters JSON escapes, and another expiry among the repeated times.
	batch[8].AllowedPaths = []string{`/q"uote`, `/back\slash`, "/é/", "/<b>&amp;", "/tab\t"}
	batch[8].Permissions = []string{"read", "\u2028"}
	batch[8].ExpiresAt = t0.Add(2 * time.Hour)
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertKey(ctx, key("single", "hash-single")); err != nil {
			return err
		}
		if err := tx.InsertKeys(ctx, batch[:1000]); err != nil {
			return err
		}
		return tx.InsertKeys(ctx, batch[1000:])
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		got, err := tx.Key(ctx, "bulk-00007")
		if err != nil {
			return err
		}
		want := batch[7]
		want.Seq = got.Seq
		want.ExpiresAt, want.CreatedAt, want.UpdatedAt = want.ExpiresAt.Truncate(time.Microsecond), t0us, t0.Add(time.Second).Truncate(time.Microsecond)
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("bulk key =\n%+v\nwant\n%+v", got, want)
		}
		got, err = tx.Key(ctx, "bulk-00008")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got.AllowedPaths, batch[8].AllowedPaths) || !reflect.DeepEqual(got.Permissions, batch[8].Permissions) ||
			!got.ExpiresAt.Equal(batch[8].ExpiresAt.Truncate(time.Microsecond)) {
			return fmt.Errorf("bulk key with escaped lists = %q %q %v, want %q %q %v", got.AllowedPaths, got.Permissions, got.ExpiresAt,
				batch[8].AllowedPaths, batch[8].Permissions, batch[8].ExpiresAt)
		}
		all, err := tx.ListKeys(ctx, 0, n+10)
		if err != nil {
			return err
		}
		if len(all) != n+1 || all[0].ID != "single" || all[1].ID != "bulk-00000" || all[n].ID != "bulk-02499" {
			return fmt.Errorf("ListKeys after the bulk insert: %d keys, want %d in insertion order", len(all), n+1)
		}
		ids := []string{"nope-1", "bulk-02400", "single", "bulk-00001"}
		hashes := []string{"hash-00002", "nope-2"}
		for i := range 1500 {
			hashes = append(hashes, fmt.Sprintf("absent-%d", i))
		}
		hashes = append(hashes, "hash-02499")
		storedIDs, storedHashes, err := tx.KeyConflicts(ctx, ids, hashes)
		if err != nil {
			return err
		}
		slices.Sort(storedIDs)
		slices.Sort(storedHashes)
		if !reflect.DeepEqual(storedIDs, []string{"bulk-00001", "bulk-02400", "single"}) ||
			!reflect.DeepEqual(storedHashes, []string{"hash-00002", "hash-02499"}) {
			return fmt.Errorf("KeyConflicts = %v, %v", storedIDs, storedHashes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A conflicting batch: ErrConflict, and the key inserted before it in the same
	// transaction is gone with it.
	err = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertKey(ctx, key("before", "hash-before")); err != nil {
			return err
		}
		return tx.InsertKeys(ctx, []store.Key{key("fresh", "hash-fresh"), key("dup", "hash-00010")})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("InsertKeys with a stored hash = %v, want ErrConflict", err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		for _, id := range []string{"before", "fresh", "dup"} {
			if _, err := tx.Key(ctx, id); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("key %s after the failed write: %v", id, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error { return tx.InsertKeys(ctx, batch[:1]) })
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("InsertKeys in Read = %v, want ErrReadOnly", err)
	}
	testInsertKeysConflictUndo(t, s)
}

// testInsertKeysConflictUndo: a conflict in the middle of a later batch takes the transaction
// back to before its first InsertKeys (earlier batches and writes since undone, writes before
// kept) and leaves it usable: KeyConflicts answers, more keys can be inserted and committed.
func testInsertKeysConflictUndo(t *testing.T, s store.Store) {
	many := func(prefix string, n int) []store.Key {
		keys := make([]store.Key, n)
		for i := range keys {
			keys[i] = key(fmt.Sprintf("%s-%04d", prefix, i), fmt.Sprintf("hash-%s-%04d", prefix, i))
		}
		return keys
	}
	first := many("undo-a", 450) // several statements' worth, so the undo spans statements
	second := many("undo-b", 450)
	second[301].SHA256 = "hash-00011" // stored by testInsertKeys, in the middle of the batch
	after := many("undo-c", 3)
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertKey(ctx, key("undo-early", "hash-undo-early")); err != nil {
			return err
		}
		if err := tx.InsertKeys(ctx, first); err != nil {
			return err
		}
		if err := tx.InsertKey(ctx, key("undo-mid", "hash-undo-mid")); err != nil {
			return err
		}
		if err := tx.InsertKeys(ctx, second); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("InsertKeys with a stored hash mid-batch = %v, want ErrConflict", err)
		}
		var ids, hashes []string
		for _, k := range append(append(slices.Clone(first), second...), key("undo-mid", "hash-undo-mid")) {
			ids, hashes = append(ids, k.ID), append(hashes, k.SHA256)
		}
		storedIDs, storedHashes, err := tx.KeyConflicts(ctx, ids, hashes)
		if err != nil {
			return fmt.Errorf("KeyConflicts after the conflict: %w", err)
		}
		if len(storedIDs) != 0 || !reflect.DeepEqual(storedHashes, []string{"hash-00011"}) {
			return fmt.Errorf("KeyConflicts after the conflict = %v, %v; want only the stored hash-00011", storedIDs, storedHashes)
		}
		return tx.InsertKeys(ctx, after)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		for id, want := range map[string]bool{"undo-early": true, "undo-c-0000": true, "undo-c-0002": true,
			"undo-a-0000": false, "undo-a-0449": false, "undo-mid": false, "undo-b-0000": false, "undo-b-0300": false} {
			_, err := tx.Key(ctx, id)
			if stored := err == nil; stored != want || (err != nil && !errors.Is(err, store.ErrNotFound)) {
				return fmt.Errorf("key %s after the undone batches: stored %v (%v), want %v", id, stored, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
