package snapshot_test

import (
	"testing"

	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// BenchmarkDecodeVerify is what the filter does with a snapshot before compiling it, natively,
// at 10,000 keys and 1,000 routes. Verify and DecodeCompact are also reported alone, and the
// control server's full Decode.
func BenchmarkDecodeVerify(b *testing.B) {
	doc := testpolicy.Large(10_000, 1_000)
	pub, priv := testKey(b, 1)
	payload, err := snapshot.Encode(1, issued, doc)
	if err != nil {
		b.Fatal(err)
	}
	sig := snapshot.Sign(priv, payload)
	run := func(name string, fn func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(payload)), "payload-bytes")
		})
	}
	run("verify+decode", func() error {
		if err := snapshot.Verify(pub, payload, sig); err != nil {
			return err
		}
		_, err := snapshot.DecodeCompact(payload)
		return err
	})
	run("verify", func() error { return snapshot.Verify(pub, payload, sig) })
	run("decode", func() error { _, err := snapshot.DecodeCompact(payload); return err })
	// The control server's decode: every key expanded into the document and validated.
	run("decode-full", func() error { _, err := snapshot.Decode(payload); return err })
	run("encode", func() error { _, err := snapshot.Encode(1, issued, doc); return err })
}
