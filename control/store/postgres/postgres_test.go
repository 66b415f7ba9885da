package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/postgres"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/control/store/storetest"
)

func open(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

// Two replicas on one database: a version committed through one wakes the other's subscribers
// (LISTEN/NOTIFY) and is what the other reads.
func TestReplicasSeeEachOthersVersions(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn) // the second start finds the schema migrated
	defer a.Close()
	defer b.Close()
	c, cancel := b.Subscribe()
	defer cancel()
	start := time.Now()
	if err := a.Write(ctx, func(tx store.Tx) error { _, err := tx.BumpVersion(ctx, time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
	case <-time.After(time.Second):
		t.Fatal("replica B was not notified within 1 s")
	}
	var st store.State
	if err := b.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.State(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 {
		t.Fatalf("replica B reads version %d, want 2", st.Version)
	}
	t.Logf("notified after %v", time.Since(start))
}

// Replicas in other schemas of the same database are not woken.
func TestChannelsArePerSchema(t *testing.T) {
	ctx := context.Background()
	a, other := open(t, pgtest.DSN(t)), open(t, pgtest.DSN(t))
	defer a.Close()
	defer other.Close()
	c, cancel := other.Subscribe()
	defer cancel()
	if err := a.Write(ctx, func(tx store.Tx) error { _, err := tx.BumpVersion(ctx, time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
		t.Fatal("a store in another schema was notified")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, dsn := range []string{"postgres://%zz", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"} {
		if s, err := postgres.Open(ctx, dsn, postgres.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

// Replicas starting together on an empty database migrate it once and both come up.
func TestConcurrentStart(t *testing.T) {
	dsn := pgtest.DSN(t)
	errs := make(chan error, 3)
	stores := make(chan store.Store, 3)
	for range 3 {
		go func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			errs <- err
			stores <- s
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent start: %v", err)
		}
		s := <-stores
		defer s.Close()
	}
}
