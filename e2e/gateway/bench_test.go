package gateway_test

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// BenchmarkThroughput is gateway throughput on loopback: keep-alive clients (4 per core) send
// GETs as fast as answers come back. "upstream-direct" is the echo upstream alone, the baseline
// the other rows are measured against in the same run; "reverse-proxy-plain" is a bare
// httputil.ReverseProxy in front of it (the cost of the extra hop, no filter); the gateway
// rows put the gateway, with one filter VM per core, in front of that same upstream.
func BenchmarkThroughput(b *testing.B) {
	const direct, plainProxy = "", "-" // module values of the two baselines
	cases := []struct {
		name, module string
		config       []byte
		key          string
		want         int
	}{
		{"upstream-direct", direct, nil, scenario.KeyFull, http.StatusOK},
		{"reverse-proxy-plain", plainProxy, nil, scenario.KeyFull, http.StatusOK},
		{"gateway-noop", "noop.wasm", nil, scenario.KeyFull, http.StatusOK},
		{"gateway-portcullis-allow", "portcullis.wasm", scenario.PluginConfig, scenario.KeyFull, http.StatusOK},
		{"gateway-portcullis-deny", "portcullis.wasm", scenario.PluginConfig, scenario.KeyUnknown, http.StatusUnauthorized},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var url string
			switch c.module {
			case direct:
				up := httptest.NewServer(gateway.Echo())
				b.Cleanup(up.Close)
				url = up.URL
			case plainProxy:
				up := httptest.NewServer(gateway.Echo())
				b.Cleanup(up.Close)
				target, _ := neturl.Parse(up.URL)
				proxy := httptest.NewServer(&httputil.ReverseProxy{
					Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
					ErrorLog: log.New(io.Discard, "", 0),
				})
				b.Cleanup(proxy.Close)
				url = proxy.URL
			default:
				opts := wasmhost.Options{Workers: runtime.GOMAXPROCS(0), PluginConfig: c.config}
				// The access log is formatted as in production, then discarded.
				logger := slog.New(slog.NewTextHandler(io.Discard, nil))
				url = start(b, c.module, opts, gateway.Echo(), gateway.Config{Logger: logger}).url
			}
			loadLoop(b, url+"/v1/builds?page=2", c.key, c.want)
		})
	}
}

// loadLoop sends b.N requests from parallel keep-alive clients and reports requests per second.
// Every answer must have status want, so a misconfigured run cannot pass as a fast one.
func loadLoop(b *testing.B, url, key string, want int) {
	transport := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	b.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	send := func() error {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return err
		}
		req.Host = "api.example.com"
		req.Header.Set("x-api-key", key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != want {
			b.Errorf("status %d, want %d", resp.StatusCode, want)
		}
		return err
	}
	if err := send(); err != nil { // warm: first connection, compiled paths
		b.Fatal(err)
	}
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := send(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	// The process's CPU time per request (clients, gateway, VMs and upstream alike): on a
	// machine other work keeps busy, req/s measures the share of the cores this process got;
	// the CPU it spent per request hardly moves.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user and system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
