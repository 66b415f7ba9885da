package snapshot

import (
	"crypto/ed25519"
	"testing"

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
