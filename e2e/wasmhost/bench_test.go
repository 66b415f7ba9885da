package wasmhost_test

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// requestSpec is one request (and optionally its response) as a benchmark sends it.
type requestSpec struct {
	Headers [][2]string // request headers, pseudo-headers included
	Body    []byte      // request body, sent in one chunk
	// Response, when set, also runs response headers and a response body through the filter.
	Response     bool
	ResponseBody []byte
}

// benchRequests measures one request through the host per iteration, start to Done, on a
// single VM: the cost a filter adds to a request, with the host's own cost included. The empty
// filter (noop.wasm) run through this is the floor every other filter is compared with.
func benchRequests(b *testing.B, module string, config []byte, spec requestSpec) wasmhost.Action {
	b.Helper()
	h := newHost(b, module, wasmhost.Options{Workers: 1, PluginConfig: config})
	respHeaders := [][2]string{{":status", "200"}, {"content-type", "text/plain"}}
	run := func() wasmhost.Action {
		s := h.NewStream(wasmhost.StreamInfo{Source: benchSource})
		r := s.RequestHeaders(spec.Headers, len(spec.Body) == 0)
		if len(spec.Body) > 0 && r.Action != wasmhost.LocalResponse {
			r = s.RequestBody(spec.Body, true)
		}
		if spec.Response && r.Action == wasmhost.Continue {
			r = s.ResponseHeaders(respHeaders, len(spec.ResponseBody) == 0)
			if len(spec.ResponseBody) > 0 {
				r = s.ResponseBody(spec.ResponseBody, true)
			}
		}
		s.Done()
		return r.Action
	}
	want := run() // the same outcome every iteration, or the benchmark measures the wrong path
	// Measure the steady state, as a worker sees it after its first few thousand requests: a
	// new VM's Go heap grows its linear memory (every growth copies it) until the collector's
	// pacing settles, ~16,000 Portcullis requests in (BenchmarkVMMemory), which would
	// otherwise land inside the timed loop of the slower filters only.
	for range benchWarmup {
		run()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if got := run(); got != want {
			b.Fatalf("iteration %d: %v, first iteration %v", i, got, want)
		}
	}
	b.StopTimer()
	// CPU time of the process per request: unlike ns/op it hardly moves when other processes
	// compete for the cores, so ratios measured on a busy machine stay meaningful.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(h.VMs()[0].MemoryBytes), "vm-mem-bytes")
	return want
}

// benchSource is the client address of every benchmark request.
var benchSource = netip.MustParseAddrPort(scenario.DefaultSource)

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchWarmup is how many requests each VM serves before a per-request benchmark is timed.
const benchWarmup = 20_000

// benchCases are the per-request benchmarks: the empty filter (the floor every ratio in
// BENCHMARKS.md divides by), the Portcullis allow path and two deny paths, each with the
// response headers and body run through the filter too. Same host, same requests, same run.
var benchCases = []struct {
	name, module string
	config       []byte
	headers      [][2]string
	want         wasmhost.Action
}{
	{"floor-noop", "noop.wasm", nil, benchAPI(scenario.KeyFull), wasmhost.Continue},
	{"portcullis-allow", "portcullis.wasm", scenario.PluginConfig, benchAPI(scenario.KeyFull), wasmhost.Continue},
	// A route with guards, an IP allow list, CORS (an allowed Origin) and security headers.
	{"portcullis-allow-edge-rules", "portcullis.wasm", scenario.PluginConfig, benchEdge(), wasmhost.Continue},
	{"portcullis-deny-missing-key", "portcullis.wasm", scenario.PluginConfig, benchAPI(""), wasmhost.LocalResponse},
	{"portcullis-deny-unknown-key", "portcullis.wasm", scenario.PluginConfig, benchAPI(scenario.KeyUnknown), wasmhost.LocalResponse},
}

// benchAPI is a typical API request to the scenario policy's api route, with key if not empty.
func benchAPI(key string) [][2]string {
	h := [][2]string{
		{":method", "GET"}, {":path", "/v1/builds?page=2"}, {":authority", "api.example.com"}, {":scheme", "https"},
		{"user-agent", "bench/1.0"}, {"accept", "*/*"}, {"x-request-id", "0123456789abcdef"},
	}
	if key != "" {
		h = append(h, [2]string{"x-api-key", key})
	}
	return h
}

// benchEdge is benchAPI's request to the scenario policy's edge route, from an allowed origin.
func benchEdge() [][2]string {
	h := benchAPI(scenario.KeyOps)
	h[2][1] = "edge.example.com"
	return append(h, [2]string{"origin", "https://web.example.com"})
}

func BenchmarkRequest(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			got := benchRequests(b, c.module, c.config, requestSpec{Headers: c.headers, Response: true, ResponseBody: make([]byte, 4096)})
			if got != c.want {
				b.Fatalf("action %v, want %v: the benchmark would measure the wrong path", got, c.want)
			}
		})
	}
}

// BenchmarkParallel spreads requests over GOMAXPROCS VMs, the way the gateway runs them.
func BenchmarkParallel(b *testing.B) {
	for _, c := range benchCases[:2] {
		b.Run(c.name, func(b *testing.B) {
			h := newHost(b, c.module, wasmhost.Options{PluginConfig: c.config})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s := h.NewStream(wasmhost.StreamInfo{})
					s.RequestHeaders(c.headers, true)
					s.ResponseHeaders([][2]string{{":status", "200"}}, true)
					s.Done()
				}
			})
		})
	}
}

// BenchmarkNew measures starting a one-VM host (compile, instantiate, start, configure) with an
// empty compilation cache each time ("cold") and with a warm one.
func BenchmarkNew(b *testing.B) {
	for _, name := range []string{"noop.wasm", "portcullis.wasm"} {
		wasm := module(b, name)
		config := map[string][]byte{"portcullis.wasm": scenario.PluginConfig}[name]
		start := func(b *testing.B, dir string) {
			h, err := wasmhost.New(context.Background(), wasm, wasmhost.Options{Workers: 1, Logger: quiet(), PluginConfig: config, CompilationCacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			h.Close(context.Background())
		}
		b.Run(name+"/cold", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp(b.TempDir(), "cache")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start(b, dir)
			}
		})
		b.Run(name+"/warm-cache", func(b *testing.B) {
			dir := b.TempDir()
			start(b, dir) // fill the cache
			b.ResetTimer()
			for b.Loop() {
				start(b, dir)
			}
		})
	}
}

// BenchmarkVMMemory reports a VM's linear memory after start and after 100,000 and 1,000,000
// allowed requests through Portcullis (PORTCULLIS_BENCH_REQUESTS overrides the larger count).
// Linear memory never shrinks, so a leak shows as growth between the two counts; Go's runtime
// grows it to its working set once and then reuses it.
func BenchmarkVMMemory(b *testing.B) {
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_REQUESTS")); err == nil && v > 100_000 {
		total = v
	}
	headers := benchAPI(scenario.KeyFull)
	for b.Loop() {
		h, err := wasmhost.New(context.Background(), module(b, "portcullis.wasm"), wasmhost.Options{Workers: 1, Logger: quiet(), PluginConfig: scenario.PluginConfig, CompilationCacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		mem := func() float64 { return float64(h.VMs()[0].MemoryBytes) / (1 << 20) }
		b.ReportMetric(mem(), "MiB-at-start")
		for i := 1; i <= total; i++ {
			s := h.NewStream(wasmhost.StreamInfo{})
			if r := s.RequestHeaders(headers, true); r.Action != wasmhost.Continue {
				b.Fatalf("request %d: %v", i, r.Action)
			}
			s.ResponseHeaders([][2]string{{":status", "200"}}, true)
			s.Done()
			if i == 100_000 {
				b.ReportMetric(mem(), "MiB-after-100k")
			}
		}
		b.ReportMetric(mem(), "MiB-after-all")
		b.ReportMetric(float64(total), "requests")
		h.Close(context.Background())
	}
}
