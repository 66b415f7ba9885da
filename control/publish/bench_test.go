package publish_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/store"
)

// benchInput is 10,000 keys and 1,000 routes, the sizes the issue sets.
func benchInput(keys, routes int) ([]byte, []store.Key) {
	pol := []byte(`{"version":1,"routes":[`)
	for i := range routes {
		if i > 0 {
			pol = append(pol, ',')
		}
		pol = fmt.Appendf(pol, `{"name":"route-%04d","match":{"hosts":["svc%d.example.com"],"path_prefix":"/svc/%d/","methods":["GET","POST"]},"auth":{"type":"api_key"}}`, i, i, i)
	}
	pol = append(pol, "]}"...)
	ks := make([]store.Key, keys)
	exp := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range ks {
		sum := sha256.Sum256(fmt.Appendf(nil, "pcs_key_%d", i))
		ks[i] = store.Key{ID: fmt.Sprintf("key_%016d", i), Name: fmt.Sprintf("tenant %d", i), SHA256: hex.EncodeToString(sum[:]),
			Active: i%10 != 0, AllowedPaths: []string{fmt.Sprintf("/svc/%d/", i%routes)}, Permissions: []string{"read", "write"}, ExpiresAt: exp}
	}
	return pol, ks
}

// BenchmarkBuild is what every committed change costs the control server: assemble, encode,
// validate by decoding, compile, sign. payload-bytes is the transfer size of one snapshot.
func BenchmarkBuild(b *testing.B) {
	pol, keys := benchInput(10_000, 1_000)
	st := store.State{Version: 1, UpdatedAt: t0}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		s, err := publish.Build(st, pol, keys, priv)
		if err != nil {
			b.Fatal(err)
		}
		size = len(s.Payload)
	}
	b.ReportMetric(float64(size), "payload-bytes")
}

// BenchmarkRefresh adds reading the 10,000 keys from SQLite to Build.
func BenchmarkRefresh(b *testing.B) {
	st := openStore(b)
	pol, keys := benchInput(10_000, 1_000)
	err := st.Write(ctx, func(tx store.Tx) error {
		for _, k := range keys {
			k.Prefix, k.CreatedAt, k.UpdatedAt = "pcs_abcd", t0, t0
			if err := tx.InsertKey(ctx, k); err != nil {
				return err
			}
		}
		return tx.PutPolicy(ctx, store.Policy{Document: pol, Version: 1, UpdatedAt: t0})
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p := publish.New(st, priv, publish.Options{})
		if err := p.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(p.Current().Payload)), "payload-bytes")
	}
}
