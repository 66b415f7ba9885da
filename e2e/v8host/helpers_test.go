package v8host_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/v8host"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

func TestMain(m *testing.M) { buildout.Main(m) }

// modulePath is a build output's path; a missing module fails the test, never skips it.
func modulePath(tb testing.TB, name string) string {
	tb.Helper()
	path := buildout.Path(name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("%v (run make wasm-test-modules)", err)
	}
	return path
}

// startV8 starts running the exchanges on V8 in the background, so that node and the wazero
// host's compilation overlap, and returns the wait for the result. No Node.js fails the test,
// saying how to install it.
func startV8(tb testing.TB, cfg v8host.Config, exchanges []v8host.Exchange) (wait func() *v8host.Result) {
	tb.Helper()
	node, err := v8host.FindNode()
	if err != nil {
		tb.Fatalf("the V8 leg cannot run: %v", err)
	}
	cfg.Node = node
	type result struct {
		r       *v8host.Result
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		r, err := v8host.Run(ctx, cfg, exchanges)
		done <- result{r, err, time.Since(start)}
	}()
	return func() *v8host.Result {
		tb.Helper()
		res := <-done
		if res.err != nil {
			tb.Fatalf("running %s on V8 (%s): %v", cfg.Module, cfg.Compiler, res.err)
		}
		tb.Logf("V8 %s (%s) ran %d exchanges in %v, node included", res.r.V8, cfg.Compiler, len(res.r.Outcomes), res.elapsed.Round(time.Millisecond))
		return res.r
	}
}

// newWazero starts the wazero host on one VM, so that shared data, metrics and everything else
// stateful sees the exchanges in the same order as the single V8 VM.
func newWazero(tb testing.TB, name string, opts wasmhost.Options) *wasmhost.Host {
	tb.Helper()
	opts.Workers = 1
	opts.CompilationCacheDir = buildout.CacheDir()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	wasm := buildout.Module(tb, name)
	h, err := wasmhost.New(context.Background(), wasm, opts)
	if err != nil {
		tb.Fatalf("starting %s on wazero: %v", name, err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// runWazero sends every exchange through the wazero host exactly as host.mjs sends it through
// V8: the request's headers and chunks until the stream is answered or reset, then the
// upstream's response if the whole request went through.
func runWazero(h *wasmhost.Host, exchanges []v8host.Exchange) []v8host.Outcome {
	out := make([]v8host.Outcome, len(exchanges))
	for i, ex := range exchanges {
		out[i] = runExchange(h, ex)
	}
	return out
}

func runExchange(h *wasmhost.Host, ex v8host.Exchange) v8host.Outcome {
	s := h.NewStream(wasmhost.StreamInfo{
		Source: addr(ex.Info.Source), Destination: addr(ex.Info.Destination),
		Protocol: ex.Info.Protocol, ConnectionID: ex.Info.ConnectionID,
	})
	defer s.Done()
	var o v8host.Outcome
	var last wasmhost.Result
	o.Request, last = feed(s.RequestHeaders, s.RequestBody, ex.Request, ex.RequestBody)
	if last.Action == wasmhost.Continue && len(ex.Response) > 0 {
		side, r := feed(s.ResponseHeaders, s.ResponseBody, ex.Response, ex.ResponseBody)
		o.Response, last = &side, r
	}
	switch last.Action {
	case wasmhost.LocalResponse:
		l := last.Local
		o.Local = &v8host.Local{Status: l.Status, Headers: l.Headers, Body: l.Body, Details: l.Details}
	case wasmhost.Reset:
		o.Reset = last.Err.Error()
	}
	return o
}

func feed(onHeaders func([][2]string, bool) wasmhost.Result, onBody func([]byte, bool) wasmhost.Result,
	headers [][2]string, chunks [][]byte) (v8host.Side, wasmhost.Result) {
	r := onHeaders(headers, len(chunks) == 0)
	side := v8host.Side{Headers: r.Headers, Body: append([]byte(nil), r.Body...)}
	for i, chunk := range chunks {
		if r.Action == wasmhost.LocalResponse || r.Action == wasmhost.Reset {
			break
		}
		r = onBody(chunk, i == len(chunks)-1)
		if r.Headers != nil {
			side.Headers = r.Headers
		}
		side.Body = append(side.Body, r.Body...)
	}
	side.Action = r.Action.String()
	return side, r
}

func addr(s string) netip.AddrPort {
	if s == "" {
		return netip.AddrPort{}
	}
	return netip.MustParseAddrPort(s)
}

// diff describes how the V8 outcome differs from the wazero one, field by field; "" if not.
// Header lists are compared in order, pseudo-headers included: both hosts keep Envoy's order.
func diff(v8, wz v8host.Outcome) string {
	var d []string
	side := func(name string, a, b *v8host.Side) {
		switch {
		case (a == nil) != (b == nil):
			d = append(d, fmt.Sprintf("%s: V8 sent it: %v, wazero sent it: %v", name, a != nil, b != nil))
		case a == nil:
		case a.Action != b.Action:
			d = append(d, fmt.Sprintf("%s action: V8 %s, wazero %s", name, a.Action, b.Action))
		case (a.Headers == nil) != (b.Headers == nil) || !samePairs(a.Headers, b.Headers):
			d = append(d, fmt.Sprintf("%s headers:\n  V8     %q\n  wazero %q", name, a.Headers, b.Headers))
		case !bytes.Equal(a.Body, b.Body):
			d = append(d, fmt.Sprintf("%s body: V8 %q, wazero %q", name, a.Body, b.Body))
		}
	}
	side("request to the upstream", &v8.Request, &wz.Request)
	side("response to the client", v8.Response, wz.Response)
	switch a, b := v8.Local, wz.Local; {
	case (a == nil) != (b == nil):
		d = append(d, fmt.Sprintf("local reply: V8 %s, wazero %s", describeLocal(a), describeLocal(b)))
	case a == nil:
	case a.Status != b.Status || a.Details != b.Details:
		d = append(d, fmt.Sprintf("local reply: V8 %d %q, wazero %d %q", a.Status, a.Details, b.Status, b.Details))
	case !samePairs(a.Headers, b.Headers):
		d = append(d, fmt.Sprintf("local reply headers:\n  V8     %q\n  wazero %q", a.Headers, b.Headers))
	case !bytes.Equal(a.Body, b.Body):
		d = append(d, fmt.Sprintf("local reply body: V8 %q, wazero %q", a.Body, b.Body))
	}
	if v8.Reset != wz.Reset {
		d = append(d, fmt.Sprintf("reset: V8 %q, wazero %q", v8.Reset, wz.Reset))
	}
	return strings.Join(d, "\n")
}

func samePairs(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diffMetrics compares every metric of the two hosts by name, kind and value (histograms by
// count, sum and buckets).
func diffMetrics(v8 []v8host.Metric, wz []wasmhost.Metric) string {
	var d []string
	if len(v8) != len(wz) {
		d = append(d, fmt.Sprintf("V8 defined %d metrics, wazero %d", len(v8), len(wz)))
	}
	for i := 0; i < min(len(v8), len(wz)); i++ {
		a, b := v8[i], wz[i]
		var buckets []uint64
		for _, bk := range b.Buckets[:max(len(b.Buckets)-1, 0)] { // without +Inf
			buckets = append(buckets, bk.Count)
		}
		if a.Name != b.Name || a.Kind != int(b.Kind) || a.Value != b.Value || a.Count != b.Count || a.Sum != b.Sum ||
			fmt.Sprint(a.Buckets) != fmt.Sprint(buckets) {
			d = append(d, fmt.Sprintf("V8 %+v, wazero %s kind=%d value=%d count=%d sum=%d buckets=%v",
				a, b.Name, b.Kind, b.Value, b.Count, b.Sum, buckets))
		}
	}
	return strings.Join(d, "\n")
}

func describeLocal(l *v8host.Local) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%d %q %q (%s)", l.Status, l.Headers, l.Body, l.Details)
}
