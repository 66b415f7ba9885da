package publish

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/shared/policy"
)

var oneKeyCounts = flag.String("onekey.keys", "10000,100000", "comma-separated key counts for BenchmarkPublishOneKey")

// BenchmarkPublishOneKey is what a one-key change costs the control server at each key count,
// in the same run: publishing the version from the write (read the changed row, build, check
// and record the step: what a waiting filter needs before its delta can be answered), and then
// building that version's full snapshot from the previous one (off the poll path); and, as the
// baseline, what each change cost before: a full snapshot from every row. The store
// is SQLite; each iteration first creates a key, or revokes the one it created, in its own
// transaction (not timed).
//
//	go test -run '^$' -bench PublishOneKey -benchtime=20x ./control/publish -args -onekey.keys=10000,1000000
func BenchmarkPublishOneKey(b *testing.B) {
	for _, f := range strings.Split(*oneKeyCounts, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			b.Fatalf("bad -onekey.keys %q", *oneKeyCounts)
		}
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "p.db"))
		if err != nil {
			b.Fatal(err)
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		key := func(i int) store.Key {
			sum := sha256.Sum256(fmt.Appendf(nil, "pcs_key_%d", i))
			return store.Key{ID: fmt.Sprintf("key_%016d", i), Name: fmt.Sprintf("tenant %d", i), Prefix: "pcs_abcd",
				SHA256: hex.EncodeToString(sum[:]), Active: true, AllowedPaths: []string{"/svc/"},
				Permissions: []string{"read", "write"}, ExpiresAt: now.AddDate(5, 0, 0), CreatedAt: now, UpdatedAt: now}
		}
		err = st.Write(ctx, func(tx store.Tx) error {
			if _, err := tx.BumpVersion(ctx, now); err != nil {
				return err
			}
			batch := make([]store.Key, 0, 10_000)
			seed := min(n, policy.MaxKeys-1) // room for the benchmark's key at the limit
			for i := range seed {
				if batch = append(batch, key(i)); len(batch) == cap(batch) || i == seed-1 {
					if err := tx.InsertKeys(ctx, batch); err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
			return tx.PutPolicy(ctx, store.Policy{Document: []byte(`{"version":1,"routes":[{"name":"api","match":{"path_prefix":"/"},"auth":{"type":"api_key"}}]}`), Version: 1, UpdatedAt: now})
		})
		if err != nil {
			b.Fatal(err)
		}
		p := New(st, ed25519.NewKeyFromSeed(make([]byte, 32)), Options{})
		if err := p.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		next, live := n, false
		change := func(b *testing.B) { // a key created, then revoked, alternately
			b.StopTimer()
			err := st.Write(ctx, func(tx store.Tx) error {
				if _, err := tx.BumpVersion(ctx, now); err != nil {
					return err
				}
				if live {
					k := key(next)
					k.Active, k.RevokedAt, live = false, now, false
					return tx.UpdateKey(ctx, k)
				}
				next, live = next+1, true
				return tx.InsertKey(ctx, key(next))
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.Run(fmt.Sprintf("keys=%d/from-write", n), func(b *testing.B) {
			for b.Loop() {
				change(b)
				if err := p.refreshHead(ctx, false); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := p.buildFull(); err != nil { // keep the full snapshot one step behind at most
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("keys=%d/full-after", n), func(b *testing.B) {
			for b.Loop() {
				change(b)
				b.StopTimer()
				if err := p.refreshHead(ctx, false); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := p.buildFull(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/rebuild-from-every-row", n), func(b *testing.B) {
			// The baseline: what every change cost before versions were published from the
			// write (read every key, build, validate and sign the full snapshot).
			for b.Loop() {
				change(b)
				if err := p.refreshHead(ctx, true); err != nil {
					b.Fatal(err)
				}
			}
		})
		st.Close()
	}
}
