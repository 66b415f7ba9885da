package engine_test

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// BenchmarkApplyDelta compares, in one run, what the filter does with a one-key change as a
// delta (verify, decode, engine.Apply; "answer": the whole poll answer's check, snapshot.Open) and as a full snapshot (verify, decode, compile, GC
// paused then one collection: filter/plugin applyWithoutGC), at 10,000 and 100,000 keys with
// 1,000 routes (-delta.keys sets the counts: -delta.keys=1000000 for the 1M target). Each delta iteration alternately adds and removes the same key, so every apply
// is a real one. Run natively and, with `make bench`, compiled to Wasm under wazero.
func BenchmarkApplyDelta(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	for _, keys := range sizes(b, *deltaKeys) {
		doc, put, remove := deltaFixture(b, priv, keys)
		alternate := [2]signed{put, remove} // each apply a real one: the key put, then removed

		b.Run(fmt.Sprintf("keys=%d/delta", keys), func(b *testing.B) {
			e, err := engine.Compile(doc)
			if err != nil {
				b.Fatal(err)
			}
			collect() // the filter collects after a full apply (applyWithoutGC)
			b.ReportAllocs()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				d := alternate[i%2]
				if err := snapshot.VerifyDelta(pub, d.payload, d.sig); err != nil {
					b.Fatal(err)
				}
				decodeApply(b, e, d)
			}
		})

		// Where a delta's time goes: the signature check alone (the rest is a ~300-byte decode
		// and a map insert or delete).
		b.Run(fmt.Sprintf("keys=%d/delta-verify-only", keys), func(b *testing.B) {
			collect()
			defer reportCPU(b)()
			for b.Loop() {
				if err := snapshot.VerifyDelta(pub, put.payload, put.sig); err != nil {
					b.Fatal(err)
				}
			}
		})

		// And the rest alone: decoding the delta and applying it, alternately put and remove.
		b.Run(fmt.Sprintf("keys=%d/decode-apply", keys), func(b *testing.B) {
			e, err := engine.Compile(doc)
			if err != nil {
				b.Fatal(err)
			}
			collect()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				decodeApply(b, e, alternate[i%2])
			}
		})

		// What the filter does with a delta answer (filter/plugin accept): snapshot.Open — the
		// freshness statement's one signature, the body's digest, the decode, the version rules
		// — then engine.Apply.
		const nonce = "bench-nonce"
		putRep := deltaAnswer(priv, put, 2, nonce)
		removeRep := deltaAnswer(priv, remove, 3, nonce)
		b.Run(fmt.Sprintf("keys=%d/answer", keys), func(b *testing.B) {
			e, err := engine.Compile(doc)
			if err != nil {
				b.Fatal(err)
			}
			collect()
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				rep, held := putRep, uint64(1)
				if i%2 == 1 {
					rep, held = removeRep, 2
				}
				i++
				a, err := snapshot.Open(pub, held, nonce, rep)
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(a.Delta.Changes); err != nil {
					b.Fatal(err)
				}
			}
		})

		payload, err := snapshot.Encode(2, time.Now(), doc)
		if err != nil {
			b.Fatal(err)
		}
		sig := snapshot.Sign(priv, payload)
		b.Run(fmt.Sprintf("keys=%d/full", keys), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				old := debug.SetGCPercent(-1)
				if err := snapshot.Verify(pub, payload, sig); err != nil {
					b.Fatal(err)
				}
				s, err := snapshot.DecodeCompact(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := engine.CompileWithKeys(s.Policy, s.Keys); err != nil {
					b.Fatal(err)
				}
				debug.SetGCPercent(old)
				runtime.GC()
			}
		})
	}
}

var deltaKeys = flag.String("delta.keys", "10000,100000", "comma-separated key counts for BenchmarkApplyDelta")

type signed struct {
	payload []byte
	sig     string
}

func signedDelta(b *testing.B, priv ed25519.PrivateKey, base, version uint64, c policy.Changes) signed {
	b.Helper()
	payload, err := snapshot.EncodeDelta(&snapshot.Delta{Base: base, Version: version, IssuedAt: time.Now(), Changes: &c})
	if err != nil {
		b.Fatal(err)
	}
	return signed{payload, snapshot.SignDelta(priv, payload)}
}

// deltaAnswer is the control server's 200 answer carrying d, for the poll that sent nonce.
func deltaAnswer(priv ed25519.PrivateKey, d signed, version uint64, nonce string) snapshot.Reply {
	return snapshot.Reply{Kind: snapshot.KindDelta, Body: d.payload, Signature: d.sig,
		Freshness: snapshot.SignAnswerFreshness(priv, version, time.Now(), nonce, snapshot.KindDelta, d.payload)}
}

// collect runs a collection before a measured loop, as the filter does after a full apply
// (applyWithoutGC): otherwise the cycle that the setup's garbage (a million-key policy, compiled)
// makes due runs inside the loop — in Wasm, on its only thread — and its cost, hundreds of
// milliseconds once, would be spread over the deltas measured. A delta allocates about 2 KB;
// the filter's collector runs again only after hundreds of MB.
func collect() { runtime.GC() }

// BenchmarkDeltaAnswerPaired measures, in one loop, what a one-key delta answer costs the
// filter now (snapshot.Open: one Ed25519 check, the body's digest, decode; engine.Apply) and
// what it cost on main before issue 13's signature work (two crypto/ed25519 checks — the
// freshness statement's and the delta's, over messages of the same lengths — then decode and
// apply), alternating every iteration, so that both see the same machine: on a loaded machine
// two separate runs differ by more than what is measured. Reported: ns per answer of each
// (now-ns/op, main-ns/op) and their ratio.
func BenchmarkDeltaAnswerPaired(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	for _, keys := range sizes(b, *deltaKeys) {
		doc, put, remove := deltaFixture(b, priv, keys)
		const nonce = "bench-nonce"
		reps := [2]snapshot.Reply{deltaAnswer(priv, put, 2, nonce), deltaAnswer(priv, remove, 3, nonce)}
		// main's two checks, over what it signed: "portcullis-freshness-v1\n" + version;unix_ms;nonce
		// and "portcullis-delta-v1\n" + the payload.
		type oldAnswer struct{ stmt, stmtSig, msg, sig []byte }
		var olds [2]oldAnswer
		for i, d := range []signed{put, remove} {
			stmt := []byte(fmt.Sprintf("portcullis-freshness-v1\n%d;%d;%s", i+2, time.Now().UnixMilli(), nonce))
			msg := append([]byte("portcullis-delta-v1\n"), d.payload...)
			olds[i] = oldAnswer{stmt, ed25519.Sign(priv, stmt), msg, ed25519.Sign(priv, msg)}
		}
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			now, err := engine.Compile(doc)
			if err != nil {
				b.Fatal(err)
			}
			before, err := engine.Compile(doc)
			if err != nil {
				b.Fatal(err)
			}
			collect()
			var tNow, tMain time.Duration
			var each [2][]time.Duration // per answer: now, main
			n := 0
			for b.Loop() {
				for j := 0; j < 2; j++ { // put then remove, on each engine
					t0 := time.Now()
					a, err := snapshot.Open(pub, uint64(1+j), nonce, reps[j])
					if err != nil {
						b.Fatal(err)
					}
					if err := now.Apply(a.Delta.Changes); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					o := &olds[j]
					if !ed25519.Verify(pub, o.stmt, o.stmtSig) || !ed25519.Verify(pub, o.msg, o.sig) {
						b.Fatal("main's checks refused")
					}
					d, err := snapshot.DecodeDelta(reps[j].Body)
					if err != nil {
						b.Fatal(err)
					}
					if err := before.Apply(d.Changes); err != nil {
						b.Fatal(err)
					}
					t2 := time.Now()
					tNow += t1.Sub(t0)
					tMain += t2.Sub(t1)
					each[0] = append(each[0], t1.Sub(t0))
					each[1] = append(each[1], t2.Sub(t1))
					n++
				}
			}
			b.ReportMetric(float64(tNow.Nanoseconds())/float64(n), "now-ns/op")
			b.ReportMetric(float64(tMain.Nanoseconds())/float64(n), "main-ns/op")
			b.ReportMetric(float64(tNow)/float64(tMain), "now/main")
			// The fastest tenth of answers approximates a quiet machine's cost: an answer that
			// was preempted or shared its core is slower, never faster.
			for i, name := range []string{"now", "main"} {
				slices.Sort(each[i])
				b.ReportMetric(float64(each[i][len(each[i])/10].Nanoseconds()), name+"-p10-ns")
			}
		})
	}
}

// deltaFixture is the policy of keys keys and 1,000 routes, and the two signed deltas the
// benchmarks alternate: one key put (version 1 to 2), then removed (2 to 3).
func deltaFixture(b *testing.B, priv ed25519.PrivateKey, keys int) (doc *policy.Document, put, remove signed) {
	doc = testpolicy.Large(keys, 1_000)
	extra := policy.Key{ID: "bench-new", SHA256: fmt.Sprintf("%064x", 42), Active: true, Permissions: []string{"read"}}
	put = signedDelta(b, priv, 1, 2, policy.Changes{PutKeys: []policy.Key{extra}})
	remove = signedDelta(b, priv, 2, 3, policy.Changes{RemoveKeys: []policy.KeyRef{{ID: extra.ID, SHA256: extra.SHA256}}})
	return doc, put, remove
}

// decodeApply decodes d and applies it to e, as the filter does after the checks.
func decodeApply(b *testing.B, e *engine.Engine, d signed) {
	dd, err := snapshot.DecodeDelta(d.payload)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Apply(dd.Changes); err != nil {
		b.Fatal(err)
	}
}
