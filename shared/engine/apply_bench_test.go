package engine_test

import (
	"crypto/ed25519"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// BenchmarkApply is everything the filter does with a new snapshot of 10,000 keys and 1,000
// routes: verify the signature, decode and validate, compile. Run natively and, with
// `make bench`, compiled to Wasm under wazero.
func BenchmarkApply(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	payload, err := snapshot.Encode(1, time.Now(), testpolicy.Large(10_000, 1_000))
	if err != nil {
		b.Fatal(err)
	}
	sig := snapshot.Sign(priv, payload)
	decoded, err := snapshot.DecodeCompact(payload)
	if err != nil {
		b.Fatal(err)
	}
	all := func() error {
		if err := snapshot.Verify(pub, payload, sig); err != nil {
			return err
		}
		s, err := snapshot.DecodeCompact(payload)
		if err != nil {
			return err
		}
		_, err = engine.CompileWithKeys(s.Policy, s.Keys)
		return err
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"all", all},
		// What the filter does (filter/plugin applyWithoutGC): the collector paused during the
		// apply, then one collection, which is included.
		{"all-gc-paused", func() error {
			old := debug.SetGCPercent(-1)
			err := all()
			debug.SetGCPercent(old)
			runtime.GC()
			return err
		}},
		{"verify", func() error { return snapshot.Verify(pub, payload, sig) }},
		{"decode", func() error { _, err := snapshot.DecodeCompact(payload); return err }},
		{"compile", func() error { _, err := engine.CompileWithKeys(decoded.Policy, decoded.Keys); return err }},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if err := st.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecideLargePolicy matches against the last of 1,000 routes (the linear scan's worst
// case) with a key from a 10,000-key table.
func BenchmarkDecideLargePolicy(b *testing.B) {
	e, err := engine.Compile(testpolicy.Large(10_000, 1_000))
	if err != nil {
		b.Fatal(err)
	}
	key := testpolicy.RawKey(1999) // active, allowed on route 999
	req := &engine.Request{Method: "GET", Authority: "svc999.example.com", Path: "/svc/999/items",
		Headers: [][2]string{{"x-api-key", key}, {"accept", "*/*"}}, Now: time.Now()}
	if d := e.Decide(req); !d.Allow {
		b.Fatalf("setup: %s", d.Code)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Decide(req)
	}
}
