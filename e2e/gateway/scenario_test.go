package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// headersUpstream answers with the request headers it received, one pair per value, and the
// scenario's upstream response headers.
var headersUpstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	for _, kv := range scenario.UpstreamResponse {
		w.Header().Add(kv[0], kv[1])
	}
	w.Header().Set("X-Upstream", "1")
	json.NewEncoder(w).Encode(r.Header)
})

// chunked is a body reader without a length, read in the scenario's chunks, so the request
// goes out chunked and the filter has to count the streamed body.
type chunked struct{ chunks [][]byte }

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// codecRejects reports the cases the gateway refuses with 400 before a filter sees them, as
// Envoy's codec and connection manager do: a conflicting content-length, a fragment in the
// request target, a header name with an underscore (the filter legs cover what the filter
// does with those).
func codecRejects(c *scenario.Case) bool {
	if c.Name == "invalid content-length" || strings.Contains(c.Req.Path, "#") {
		return true
	}
	for _, kv := range c.Req.Headers {
		if strings.Contains(kv[0], "_") {
			return true
		}
	}
	return false
}

// raw sends a bodiless request with its headers exactly as the case has them, from the case's
// source address when it names one (any 127.0.0.0/8 address is this machine's).
func raw(t *testing.T, base string, r *scenario.Request) *http.Response {
	t.Helper()
	d := net.Dialer{}
	if r.Source != "" {
		ap, err := netip.ParseAddrPort(r.Source)
		if err != nil {
			t.Fatal(err)
		}
		d.LocalAddr = &net.TCPAddr{IP: ap.Addr().AsSlice()}
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.Path, r.Authority)
	for _, kv := range r.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestScenarios runs the shared scenario table through the gateway with a real HTTP client:
// the Portcullis filter in wasmhost, the upstream behind httputil.ReverseProxy.
func TestScenarios(t *testing.T) {
	e := start(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig}, headersUpstream, gateway.Config{})
	// The same gateway on IPv6 loopback, for the cases sent from ::1.
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- gateway.Serve(ctx, ln6, e.g, time.Second, slog.Default()) }()
	t.Cleanup(func() { cancel(); <-served })
	url6 := "http://" + ln6.Addr().String()
	for i := range scenario.Cases {
		c := &scenario.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			var body io.Reader
			if chunks := c.Req.Chunks(); len(chunks) > 0 {
				body = &chunked{chunks: chunks}
			}
			req := newRequest(t, e.url, &c.Req, body)
			var resp *http.Response
			base := e.url
			if strings.HasPrefix(c.Req.Source, "[") {
				base = url6
			}
			if req.Header.Get("Content-Length") != "" || strings.Contains(c.Req.Path, "#") || c.Req.Source != "" {
				// Go's client writes its own Content-Length and drops a fragment; these cases
				// need the request as written, from its own address.
				resp = raw(t, base, &c.Req)
			} else {
				resp = do(t, req)
			}
			defer resp.Body.Close()
			if codecRejects(c) {
				// Go's HTTP/1 server, like Envoy's codec, answers before any filter runs.
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want the codec's 400", resp.StatusCode)
				}
				return
			}
			if problems := c.Check(outcome(t, resp)); len(problems) > 0 {
				t.Fatal(strings.Join(problems, "\n"))
			}
		})
	}
}

// newRequest is the case's request to the gateway at base, its headers as the case has them.
func newRequest(t *testing.T, base string, r *scenario.Request, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(r.Method, base+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = r.Authority
	for _, kv := range r.Headers {
		req.Header.Add(kv[0], kv[1])
	}
	return req
}

// outcome is what the client saw, as the scenario table checks it: the headers the upstream
// got (headersUpstream echoes them) and those it answered with, or the filter's local reply.
func outcome(t *testing.T, resp *http.Response) scenario.Outcome {
	t.Helper()
	data, _ := io.ReadAll(resp.Body)
	pairs := func(h http.Header) [][2]string {
		var out [][2]string
		for name, values := range h {
			for _, v := range values {
				out = append(out, [2]string{strings.ToLower(name), v})
			}
		}
		return out
	}
	if resp.Header.Get("X-Upstream") != "1" {
		return scenario.Outcome{Status: resp.StatusCode, Body: data, Headers: pairs(resp.Header)}
	}
	var got http.Header
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("upstream answer %q: %v", data, err)
	}
	return scenario.Outcome{Upstream: pairs(got), Response: pairs(resp.Header)}
}
