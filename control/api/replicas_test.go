package api_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Two control replicas on one PostgreSQL database: a key created through replica A reaches a
// filter long-polling replica B within a second, and both replicas serve the same bytes for
// the same version.
func TestTwoReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := newEnv(t, "postgres", envOptions{realClock: true, dsn: dsn})
	b := newEnv(t, "postgres", envOptions{realClock: true, dsn: dsn})
	if !bytes.Equal(a.pub.PublicKey(), b.pub.PublicKey()) {
		t.Fatal("replicas sign with different keys")
	}
	have := b.pub.Current().Version
	if a.pub.Current().Version != have {
		t.Fatalf("replicas start at versions %d and %d", a.pub.Current().Version, have)
	}

	for round := range 3 {
		done := b.poll(have, "&wait=10")
		time.Sleep(20 * time.Millisecond) // let the poll be held
		start := time.Now()
		created, raw := a.createKey(map[string]any{"name": "via-a"})
		var r response
		select {
		case r = <-done:
		case <-time.After(time.Second):
			t.Fatalf("round %d: replica B did not serve the new version within 1 s", round)
		}
		latency := time.Since(start)
		if r.status != http.StatusOK {
			t.Fatalf("round %d: replica B answered %d", round, r.status)
		}
		s, err := snapshot.Decode(r.body)
		if err != nil || snapshot.Verify(b.pub.PublicKey(), r.body, r.header.Get(snapshot.SignatureHeader)) != nil {
			t.Fatalf("round %d: replica B's snapshot: %v", round, err)
		}
		found := false
		for _, k := range s.Policy.Keys {
			found = found || k.ID == created["id"] && k.SHA256 != "" && k.SHA256 != raw
		}
		if !found || s.Version <= have {
			t.Fatalf("round %d: replica B served version %d without the new key", round, s.Version)
		}
		t.Logf("round %d: write on A → served by B in %v", round, latency)

		// Same version, same bytes, same signature on both replicas.
		a.waitVersion(s.Version)
		ra := a.do("GET", "/v1/snapshot?version="+strconv.FormatUint(s.Version-1, 10), dataplaneToken, nil)
		if !bytes.Equal(ra.body, r.body) || ra.header.Get(snapshot.SignatureHeader) != r.header.Get(snapshot.SignatureHeader) {
			t.Fatalf("round %d: replicas serve different snapshots for version %d", round, s.Version)
		}
		have = s.Version
	}
}
