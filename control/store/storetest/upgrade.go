package storetest

import (
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// Legacy is a database left by an earlier release: migrated only up to schema version 1.
type Legacy struct {
	// DB is the database, open with the driver itself (not through a store).
	DB *sql.DB
	// Time is how the store writes a time into a column of this database.
	Time func(time.Time) any
	// Reopen closes nothing: it opens the same database as a store, which applies every
	// newer migration.
	Reopen func(t *testing.T) store.Store
}

// RunUpgrade checks that a database of an earlier release upgrades on open: rows written by the
// old schema keep every value, and the columns added since start at their documented defaults
// (a key without admin and staff flags or a tier) and then store values like any other.
func RunUpgrade(t *testing.T, legacy func(t *testing.T) Legacy) {
	old := legacy(t)
	// A key as release 1 wrote it: the columns of 001_init.sql only.
	_, err := old.DB.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, sha256, active, allowed_paths, permissions,
		expires_at, created_at, updated_at, use_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		"k-old", "old key", "pcs_oldk", "hold", true, `["/a"]`, `["read","write"]`,
		old.Time(t0us.Add(time.Hour)), old.Time(t0us), old.Time(t0us), 7)
	if err != nil {
		t.Fatalf("writing a key with the old schema: %v", err)
	}
	if err := old.DB.Close(); err != nil {
		t.Fatal(err)
	}

	s := old.Reopen(t)
	t.Cleanup(func() { s.Close() })
	want := store.Key{ID: "k-old", Name: "old key", Prefix: "pcs_oldk", SHA256: "hold", Active: true,
		AllowedPaths: []string{"/a"}, Permissions: []string{"read", "write"}, ExpiresAt: t0us.Add(time.Hour),
		CreatedAt: t0us, UpdatedAt: t0us, UseCount: 7}
	var got store.Key
	if err := s.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.Key(ctx, "k-old"); return }); err != nil {
		t.Fatalf("reading the old key after the upgrade: %v", err)
	}
	want.Seq = got.Seq
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("old key after the upgrade =\n%+v\nwant\n%+v", got, want)
	}

	// The new columns take values, and the upgraded database keeps working for new keys.
	err = s.Write(ctx, func(tx store.Tx) error {
		got.Admin, got.Staff, got.Tier = true, true, "gold"
		if err := tx.UpdateKey(ctx, got); err != nil {
			return err
		}
		n := key("k-new", "hnew")
		n.Staff = true
		return tx.InsertKey(ctx, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		keys, err := tx.PublishedKeys(ctx)
		if err != nil {
			return err
		}
		if len(keys) != 2 || keys[0].ID != "k-new" || keys[0].Admin || !keys[0].Staff ||
			keys[1].ID != "k-old" || !keys[1].Admin || !keys[1].Staff || keys[0].Tier != "" || keys[1].Tier != "gold" {
			return fmt.Errorf("keys after the upgrade = %+v", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
