package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// targetUpstream answers with the request target exactly as it arrived, and the header names.
var targetUpstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Upstream", "1")
	names := []string{}
	for n := range r.Header {
		names = append(names, strings.ToLower(n))
	}
	json.NewEncoder(w).Encode(map[string]any{"target": r.RequestURI, "headers": names})
})

func upstreamView(t *testing.T, resp *http.Response) (target string, headers []string) {
	t.Helper()
	defer resp.Body.Close()
	if resp.Header.Get("X-Upstream") != "1" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("not forwarded: %d %s", resp.StatusCode, body)
	}
	var v struct {
		Target  string
		Headers []string
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Target, v.Headers
}

// The path the filter judges is exactly the path the upstream receives: the gateway forwards
// the :path the filter released byte for byte, never a re-encoding of its own.
func TestUpstreamReceivesTheJudgedTarget(t *testing.T) {
	e := start(t, "portcullis.wasm", wasmhost.Options{PluginConfig: scenario.PluginConfig}, targetUpstream, gateway.Config{})
	for _, target := range []string{
		"/public/a%20b",
		"/public/%C3%A9t%C3%A9",
		"/public/a+b,c=d@e!$&'()*",
		"/public/a%21b",
		"/public/x?q=%2F..%2F&r=a%20b;c",
		"/public/x?",
		"/public/%E2%82%AC/",
	} {
		t.Run(target, func(t *testing.T) {
			got, _ := upstreamView(t, raw(t, e.url, &scenario.Request{Method: "GET", Authority: "x", Path: target}))
			if got != target {
				t.Fatalf("upstream received %q, the filter judged %q", got, target)
			}
		})
	}
}

// A request target never carries a fragment. The gateway refuses one before any filter runs,
// as Envoy does, so no filter's reading of it can differ from the upstream's.
func TestFragmentRefusedBeforeTheFilter(t *testing.T) {
	// The empty filter allows everything: the refusal must not depend on the filter.
	e := start(t, "noop.wasm", wasmhost.Options{}, targetUpstream, gateway.Config{})
	for _, target := range []string{"/open#/../anything", "/public/x#/%2e%2e/admin", "/a?x#y", "/#"} {
		resp := raw(t, e.url, &scenario.Request{Method: "GET", Authority: "x", Path: target})
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Upstream") != "" {
			t.Errorf("%s: %d %q, want the gateway's 400", target, resp.StatusCode, body)
		}
	}
}

// Header names with underscores are refused by default, as the shipped envoy.yaml does
// (headers_with_underscores_action: REJECT_REQUEST); with them allowed, the filter still
// strips the reserved identity names spelled with underscores.
func TestUnderscoreHeaderNames(t *testing.T) {
	send := func(url string) *http.Response {
		return raw(t, url, &scenario.Request{Method: "GET", Authority: "x", Path: "/public/a",
			Headers: [][2]string{{"X_Portcullis_Key_Id", "k-full"}, {"x_custom", "1"}}})
	}
	e := start(t, "noop.wasm", wasmhost.Options{}, targetUpstream, gateway.Config{})
	resp := send(e.url)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Upstream") != "" {
		t.Fatalf("default: %d %q, want 400", resp.StatusCode, body)
	}

	e = start(t, "portcullis.wasm", wasmhost.Options{PluginConfig: scenario.PluginConfig}, targetUpstream, gateway.Config{AllowUnderscoreHeaders: true})
	_, names := upstreamView(t, send(e.url))
	got := strings.Join(names, ",")
	if strings.Contains(got, "portcullis") || !strings.Contains(got, "x_custom") {
		t.Fatalf("allowed underscores: upstream headers %s, want x_custom and no portcullis name", got)
	}
}

// Hop-by-hop headers count against the route's header limits: the filter sees every header
// line the client sent (the gateway drops hop-by-hop headers only on the way upstream).
func TestHopByHopHeadersCount(t *testing.T) {
	cfg := []byte(`{"policy": {"version": 1, "default_action": "allow", "default_limits": {"max_header_count": 10}}}`)
	e := start(t, "portcullis.wasm", wasmhost.Options{PluginConfig: cfg}, targetUpstream, gateway.Config{})
	var hs [][2]string
	for i := range 30 {
		hs = append(hs, [2]string{"Trailer", fmt.Sprintf("X-T%d", i)})
	}
	hs = append(hs, [2]string{"Keep-Alive", "1"}, [2]string{"TE", "trailers"})
	resp := raw(t, e.url, &scenario.Request{Method: "GET", Authority: "x", Path: "/a", Headers: hs})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 431 || !strings.Contains(string(body), "too_many_headers") {
		t.Fatalf("30 Trailer headers with a limit of 10: %d %s", resp.StatusCode, body)
	}
	// Within the limit they pass, and none of them reaches the upstream.
	resp = raw(t, e.url, &scenario.Request{Method: "GET", Authority: "x", Path: "/a", Headers: hs[28:]})
	_, names := upstreamView(t, resp)
	for _, n := range names {
		if n == "trailer" || n == "keep-alive" || n == "te" {
			t.Fatalf("hop-by-hop header %s forwarded: %v", n, names)
		}
	}
}
