package snapshot

import (
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/portcullis/portcullis/shared/internal/cputime"
)

// BenchmarkEd25519Verify compares, in one run, the standard library's Ed25519 verification
// with curve25519-voi's (per call, and with the public key expanded once) and with ours
// (verifySignature: voi's field and fixed-base tables for the key), on a delta-sized message. Run it under wazero (BENCHMARKS.md) to see what the filter's worker pays; cpu-ns/op
// is the process's CPU time (under wazero, in 10 ms ticks: run a few hundred iterations).
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 300)
	sig := ed25519.Sign(priv, msg)
	exp, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		b.Fatal(err)
	}
	opts := &voi.Options{Verify: voi.VerifyOptionsStdLib}
	for _, c := range []struct {
		name string
		fn   func() bool
	}{
		{"stdlib", func() bool { return ed25519.Verify(pub, msg, sig) }},
		{"voi", func() bool { return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, opts) }},
		{"voi-expanded", func() bool { return voi.VerifyExpandedWithOptions(exp, msg, sig, opts) }},
		{"verifySignature", func() bool { return verifySignature(pub, msg, sig) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Nanos()
			for b.Loop() {
				if !c.fn() {
					b.Fatal("does not verify")
				}
			}
			b.ReportMetric(float64(cputime.Nanos()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkEd25519VerifyPaired alternates crypto/ed25519.Verify and verifySignature every
// iteration on the same signature and reports each one's time per check and their ratio:
// both see the same machine, which two separate runs on a loaded machine do not.
func BenchmarkEd25519VerifyPaired(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 300)
	sig := ed25519.Sign(priv, msg)
	verifySignature(pub, msg, sig) // the key's table, built once in a filter's life
	var tStd, tOurs time.Duration
	var each [2][]time.Duration // stdlib, ours
	for b.Loop() {
		t0 := time.Now()
		ok1 := ed25519.Verify(pub, msg, sig)
		t1 := time.Now()
		ok2 := verifySignature(pub, msg, sig)
		t2 := time.Now()
		if !ok1 || !ok2 {
			b.Fatal("does not verify")
		}
		tStd += t1.Sub(t0)
		tOurs += t2.Sub(t1)
		each[0] = append(each[0], t1.Sub(t0))
		each[1] = append(each[1], t2.Sub(t1))
	}
	b.ReportMetric(float64(tStd.Nanoseconds())/float64(b.N), "stdlib-ns/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tStd), "ours/stdlib")
	// The fastest tenth approximates a quiet machine: a check that was preempted or shared its
	// core is slower, never faster.
	for i, name := range []string{"stdlib", "ours"} {
		slices.Sort(each[i])
		b.ReportMetric(float64(each[i][len(each[i])/10].Nanoseconds()), name+"-p10-ns")
	}
}

// BenchmarkKeyTable is what a filter pays once per control key (in practice, once per VM): the
// table verifySignature keeps for the key.
func BenchmarkKeyTable(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	var id [ed25519.PublicKeySize]byte
	copy(id[:], pub)
	cpu0 := cputime.Nanos()
	for b.Loop() {
		if negatedTable(id) == nil {
			b.Fatal("not a point")
		}
	}
	b.ReportMetric(float64(cputime.Nanos()-cpu0)/float64(b.N), "cpu-ns/op")
}
