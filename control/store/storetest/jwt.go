package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

func testRevocations(t *testing.T, s store.Store) {
	a := store.Revocation{JTI: "j-a", ExpiresAt: t0us.Add(time.Hour), CreatedAt: t0us, CreatedBy: "tok_1"}
	b := store.Revocation{JTI: "j-b", ExpiresAt: t0us.Add(-time.Hour), CreatedAt: t0us, CreatedBy: "tok_1"}
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, r := range []store.Revocation{b, a} {
			if err := tx.InsertRevocation(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// In its own transaction: PostgreSQL aborts a transaction after a failed statement.
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertRevocation(ctx, a) }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("revoking twice: %v, want ErrConflict", err)
	}
	list := func() []store.Revocation {
		var out []store.Revocation
		if err := s.Read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListRevocations(ctx); return }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := list(); !reflect.DeepEqual(got, []store.Revocation{a, b}) {
		t.Fatalf("ListRevocations = %+v, want j-a, j-b in jti order", got)
	}
	err = s.Write(ctx, func(tx store.Tx) error {
		n, err := tx.PruneRevocations(ctx, t0us)
		if err != nil || n != 1 {
			t.Errorf("PruneRevocations = %d, %v; want 1 (j-b expired)", n, err)
		}
		if err := tx.DeleteRevocation(ctx, "j-nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteRevocation of an unknown jti: %v, want ErrNotFound", err)
		}
		return tx.DeleteRevocation(ctx, "j-a")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after prune and delete: %+v", got)
	}
	if err := s.Read(ctx, func(tx store.Tx) error { return tx.InsertRevocation(ctx, a) }); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("InsertRevocation in Read: %v", err)
	}
}

func testJWKS(t *testing.T, s store.Store) {
	const uri = "https://idp.example.com/jwks"
	err := s.Read(ctx, func(tx store.Tx) error {
		_, err := tx.JWKS(ctx, uri)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("JWKS before any fetch: %v", err)
	}
	for _, keys := range []string{`{"keys":[1]}`, `{"keys":[2]}`} {
		want := store.FetchedJWKS{URI: uri, Keys: []byte(keys), FetchedAt: t0us}
		if err := s.Write(ctx, func(tx store.Tx) error { return tx.PutJWKS(ctx, want) }); err != nil {
			t.Fatal(err)
		}
		var got store.FetchedJWKS
		if err := s.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.JWKS(ctx, uri); return }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("JWKS = %+v, want %+v", got, want)
		}
	}
}
