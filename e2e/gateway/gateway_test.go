package gateway_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// echoed is what gateway.Echo answers.
type echoed struct {
	Method, Path, Query, Body string
	Headers                   map[string]string
}

func get(t *testing.T, e *env, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp := do(t, req)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func decode(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("echo %q: %v", body, err)
	}
	return e
}

// TestForwarding: the upstream receives the request as the filter left it, and the client the
// response as the filter left it.
func TestForwarding(t *testing.T) {
	e := start(t, "hostprobe.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{})
	resp, body := get(t, e, "/a/b?q=1", "x-probe", "headers", "x-dup", "a", "x-dup", "b", "x-remove", "1")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decode(t, body)
	want := map[string]string{"x-first": "a", "x-all": "a|b", "x-path": "/a/b?q=1", "x-added": "1", "x-replace": "new"}
	for k, v := range want {
		if got.Headers[k] != v {
			t.Errorf("upstream header %s = %q, want %q", k, got.Headers[k], v)
		}
	}
	if _, ok := got.Headers["x-remove"]; ok {
		t.Error("upstream received x-remove, which the filter removed")
	}
	if got.Path != "/a/b" || got.Query != "q=1" || got.Headers["x-forwarded-for"] != "127.0.0.1" || got.Headers["x-request-id"] == "" {
		t.Errorf("upstream saw path %q query %q xff %q request id %q", got.Path, got.Query, got.Headers["x-forwarded-for"], got.Headers["x-request-id"])
	}
	if resp.Header.Get("X-Probe-Response") != "seen" {
		t.Error("the response did not go through the filter's response callbacks")
	}
}

// TestBodies: request bodies are streamed through the filter chunk by chunk (the probe
// buffers this one and rewrites it), response bodies too.
func TestBodies(t *testing.T) {
	e := start(t, "hostprobe.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{})
	req, _ := http.NewRequest("POST", e.url+"/upload", &chunked{chunks: [][]byte{[]byte("hello "), []byte("world")}})
	req.Header.Set("x-probe", "buffer")
	resp := do(t, req)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if got := decode(t, string(data)); got.Body != "len=11:hello world" {
		t.Fatalf("upstream received body %q", got.Body)
	}
}

func TestLocalResponses(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
		wantBody   string
		wantHeader [2]string
	}{
		{"filter reply with its headers", []string{"x-probe", "local"}, 403, "denied", [2]string{"X-Local", "1"}},
		{"a trapped VM fails closed", []string{"x-probe", "panic"}, 503, "", [2]string{}},
		{"a request held too long", []string{"x-probe", "hold"}, 408, "stream timeout", [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, "hostprobe.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{StreamTimeout: 100 * time.Millisecond})
			resp, body := get(t, e, "/x", tt.headers...)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantHeader[0] != "" && resp.Header.Get(tt.wantHeader[0]) != tt.wantHeader[1] {
				t.Fatalf("header %s = %q", tt.wantHeader[0], resp.Header.Get(tt.wantHeader[0]))
			}
		})
	}
}

// TestUpstreamDown: the router's 503 is a response like any other: it runs through the filter.
func TestUpstreamDown(t *testing.T) {
	e := start(t, "hostprobe.wasm", wasmhost.Options{}, http.NotFoundHandler(), gateway.Config{})
	g, err := gateway.New(gateway.Config{Host: e.host, Upstream: mustURL(t, "http://127.0.0.1:1")})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 503 || !strings.HasPrefix(rec.Body.String(), "upstream connect error") || rec.Header().Get("X-Probe-Response") != "seen" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

// TestCallThenContinue: a filter that pauses on an http_call to a named cluster and resumes
// from its callback.
func TestCallThenContinue(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	e := start(t, "hostprobe.wasm", wasmhost.Options{Clusters: map[string]string{"auth": backend.URL}}, gateway.Echo(), gateway.Config{})
	resp, body := get(t, e, "/x", "x-probe", "call-continue", "x-probe-cluster", "auth")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := decode(t, body).Headers["x-call-result"]; !strings.HasPrefix(got, "headers=") || !strings.Contains(got, "status=200 body=ok") {
		t.Fatalf("x-call-result = %q", got)
	}
}

func TestAccessLog(t *testing.T) {
	e := start(t, "hostprobe.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{})
	get(t, e, "/secret/path?token=abc")
	get(t, e, "/denied", "x-probe", "local")
	e.stop() // a line is written when its handler ends, which shutdown waits for
	lines := e.logs.requests()
	if len(lines) != 2 {
		t.Fatalf("%d access-log lines, want 2", len(lines))
	}
	for i, want := range []struct {
		path   string
		status int64
	}{{"/secret/path", 200}, {"/denied", 403}} {
		l := lines[i]
		if l["method"].String() != "GET" || l["path"].String() != want.path || l["status"].Int64() != want.status ||
			l["vm"].Int64() != 0 || l["duration"].Duration() <= 0 {
			t.Errorf("line %d: %v", i, l)
		}
	}
}

func TestAdmin(t *testing.T) {
	e := start(t, "hostprobe.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{})
	admin := httptest.NewServer(gateway.Admin(e.host))
	defer admin.Close()
	get(t, e, "/x")
	fetch := func(path string) (int, string) {
		resp, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := fetch("/metrics"); code != 200 || !strings.Contains(body, "probe_requests 1\n") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	if code, body := fetch("/healthz"); code != 200 || body != "vms 1 failed 0\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	get(t, e, "/x", "x-probe", "panic")
	if code, body := fetch("/healthz"); code != 503 || body != "vms 1 failed 1\n" {
		t.Fatalf("/healthz after the only VM failed: %d %q", code, body)
	}
}

// TestKeepAliveAfterBody: a request whose body the gateway read to its end leaves the client's
// kept-alive connection usable. (Once, a read deadline meant for slow bodies was set after
// every body and could cancel the connection's context, so the next request on it came back
// as an empty 200 without reaching the upstream; 2,000 rounds caught that in 3 runs of 4.)
func TestKeepAliveAfterBody(t *testing.T) {
	e := start(t, "noop.wasm", wasmhost.Options{}, gateway.Echo(), gateway.Config{})
	tr := &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	send := func(method, body string) echoed {
		var r io.Reader
		if body != "" {
			r = &chunked{chunks: [][]byte{[]byte(body[:3]), []byte(body[3:])}} // no length: the body streams
		}
		req, _ := http.NewRequest(method, e.url+"/r", r)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(data) == 0 {
			t.Fatalf("%s: status %d with body %q: the upstream did not answer", method, resp.StatusCode, data)
		}
		return decode(t, string(data))
	}
	for i := range 2000 {
		if got := send("POST", "payload"); got.Body != "payload" {
			t.Fatalf("round %d: upstream got body %q", i, got.Body)
		}
		if got := send("GET", ""); got.Method != "GET" {
			t.Fatalf("round %d: the GET after a body did not reach the upstream: %+v", i, got)
		}
	}
}

// TestUpstreamAnswersBeforeTheBody: when the upstream answers while the client is still
// (slowly) sending its body, the client gets the answer and the request ends — the gateway
// stops waiting on the client's body instead of holding the handler until the client sends
// more.
func TestUpstreamAnswersBeforeTheBody(t *testing.T) {
	early := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answer without reading the body (Go's server would otherwise read it first).
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Length", "5")
		w.Write([]byte("early"))
		w.(http.Flusher).Flush()
	})
	e := start(t, "noop.wasm", wasmhost.Options{}, early, gateway.Config{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers and a first chunk, then nothing: the terminating chunk never comes.
	io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "early" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	// The handler ended: its access-log line is written when it returns.
	deadline := time.Now().Add(5 * time.Second)
	for len(e.logs.requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never ended: the gateway is still waiting for the client's body")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
