package engine_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// The sizes of BenchmarkScale. 1,000,000 keys take minutes (and ~1 GiB) to set up, so they run
// only when asked: go test -run '^$' -bench Scale -scale.keys 1,1000,10000,100000,1000000.
var (
	scaleKeys   = flag.String("scale.keys", "1,1000,10000,100000", "comma-separated key counts for BenchmarkScale")
	scaleRoutes = flag.String("scale.routes", "1,1000", "comma-separated route counts for BenchmarkScale (the curve adds 10000)")
)

func sizes(b *testing.B, s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkScale is the scale curve of BENCHMARKS.md: for each key and route count (keys with
// an allowed path, two permissions and an expiry, as testpolicy.Large), the snapshot's size,
// building and signing it, applying it as the filter does (verify, DecodeCompact,
// CompileWithKeys, collector paused, then one collection), the heap it holds quiet and at the
// apply's peak, one allowed request, and one key put in place (a delta's cost). Run natively and,
// with make bench-wasm, compiled to Wasm under wazero.
func BenchmarkScale(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	for _, routes := range sizes(b, *scaleRoutes) {
		for _, keys := range sizes(b, *scaleKeys) {
			doc := testpolicy.Large(keys, routes)
			payload, err := snapshot.Encode(1, time.Now(), doc)
			if err != nil {
				b.Fatal(err)
			}
			sig := snapshot.Sign(priv, payload)
			apply := func() (*engine.Engine, error) {
				// The filter reads the body into the VM (a copy), which the table then keeps.
				body := bytes.Clone(payload)
				if err := snapshot.Verify(pub, body, sig); err != nil {
					return nil, err
				}
				s, err := snapshot.DecodeCompact(body)
				if err != nil {
					return nil, err
				}
				return engine.CompileWithKeys(s.Policy, s.Keys)
			}
			name := fmt.Sprintf("keys=%d/routes=%d", keys, routes)
			b.Run(name+"/build-sign", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					p, err := snapshot.Encode(1, time.Now(), doc)
					if err != nil {
						b.Fatal(err)
					}
					snapshot.Sign(priv, p)
				}
				b.ReportMetric(float64(len(payload)), "payload-B")
			})
			b.Run(name+"/apply", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					old := debug.SetGCPercent(-1)
					_, err := apply()
					debug.SetGCPercent(old)
					runtime.GC()
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			// The apply's two largest parts alone: the signature (a hash of every payload byte)
			// and the decode (the JSON, then one checking pass over the key table).
			b.Run(name+"/apply-verify", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					if err := snapshot.Verify(pub, payload, sig); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/apply-decode", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					if _, err := snapshot.DecodeCompact(payload); err != nil {
						b.Fatal(err)
					}
				}
			})
			doc = nil // only the payload stays, as in the filter
			e, err := apply()
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name+"/memory", func(b *testing.B) {
				var quiet, peak uint64
				for b.Loop() {
					e = nil
					runtime.GC()
					base := heap()
					old := debug.SetGCPercent(-1)
					var err error
					e, err = apply()
					peak = heap() - base // everything the apply allocated, nothing collected
					debug.SetGCPercent(old)
					runtime.GC()
					quiet = heap() - base
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(quiet)/(1<<20), "quiet-MiB")
				b.ReportMetric(float64(quiet)/float64(keys), "quiet-B/key")
			})
			b.Run(name+"/allow", func(b *testing.B) {
				req := allowedRequest(b, e, keys, routes)
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					e.Decide(req)
				}
			})
			b.Run(name+"/put-key", func(b *testing.B) {
				n := 0
				k := policy.Key{ID: "k-put", Active: true, Permissions: []string{"read"}, AllowedPaths: []string{"/svc/0/"}}
				defer reportCPU(b)()
				for b.Loop() {
					n++
					sum := sha256.Sum256([]byte(strconv.Itoa(n)))
					k.SHA256 = hex.EncodeToString(sum[:])
					if err := e.Apply(&policy.Changes{PutKeys: []policy.Key{k}}); err != nil {
						b.Fatal(err)
					}
				}
			})
			e, payload = nil, nil
		}
	}
}

// reportCPU reports the process CPU time per operation (cpu-ns/op) when the returned function
// runs, after the loop.
func reportCPU(b *testing.B) func() {
	cpu0 := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		}
	}
}

func heap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// allowedRequest is a request that e — compiled from testpolicy.Large(keys, routes) — allows:
// the last active key on its route. With one key (inactive, as every tenth), an active key is
// put first.
func allowedRequest(b *testing.B, e *engine.Engine, keys, routes int) *engine.Request {
	b.Helper()
	i := keys - 1
	if i%10 == 0 { // every tenth key is inactive
		i--
	}
	if i < 0 {
		i = 1 // keys=1: key 0 is inactive, so use a put key
		sum := sha256.Sum256([]byte(testpolicy.RawKey(i)))
		k := policy.Key{ID: "k1", SHA256: hex.EncodeToString(sum[:]), Active: true}
		if err := e.Apply(&policy.Changes{PutKeys: []policy.Key{k}}); err != nil {
			b.Fatal(err)
		}
	}
	r := i % routes
	req := &engine.Request{Method: "GET", Authority: fmt.Sprintf("svc%d.example.com", r), Path: fmt.Sprintf("/svc/%d/items", r),
		Headers: [][2]string{{"x-api-key", testpolicy.RawKey(i)}, {"accept", "*/*"}}, Now: time.Now()}
	if d := e.Decide(req); !d.Allow {
		b.Fatalf("setup (%d keys): %s", keys, d.Code)
	}
	return req
}
