package wasmhost_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// backend answers http_calls: /pong with fixed headers (Date suppressed so the header count is
// stable); /hang never answers; /partial sends its headers and part of the body, then stalls.
// Both stall until the caller gives up.
func backend(t *testing.T) (*httptest.Server, chan *http.Request) {
	t.Helper()
	seen := make(chan *http.Request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		switch r.URL.Path {
		case "/pong":
			w.Header()["Date"] = nil
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("X-B", "1")
			w.WriteHeader(201)
			w.Write([]byte("pong"))
		case "/partial":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("part"))
			w.(http.Flusher).Flush()
			fallthrough
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHTTPCall(t *testing.T) {
	srv, seen := backend(t)
	clusters := map[string]string{"backend": srv.URL, "down": "http://" + closedAddr(t)}
	tests := []struct {
		name  string
		extra [][2]string
		want  string
	}{
		{"response reaches the callback with :status, body and headers", [][2]string{{"x-probe-cluster", "backend"}, {"x-probe-path", "/pong"}},
			"headers=4 status=201 body=pong trailers=0"},
		{"unknown cluster is BadArgument at dispatch", [][2]string{{"x-probe-cluster", "nowhere"}},
			"dispatch=bad_argument"},
		{"missing :path is BadArgument at dispatch", [][2]string{{"x-probe-cluster", "backend"}, {"x-probe-no-path", "1"}},
			"dispatch=bad_argument"},
		{"no connection: Envoy's router answers 503", [][2]string{{"x-probe-cluster", "down"}},
			"headers=3 status=503 body=upstream connect error or disconnect/reset before headers. reset reason: connection failure trailers=0"},
	}
	h := probeHost(t, wasmhost.Options{Clusters: clusters})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.NewStream(wasmhost.StreamInfo{})
			defer s.Done()
			r := s.RequestHeaders(request("call", tt.extra...), true)
			if r.Action == wasmhost.Pause {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var err error
				if r, err = s.WaitRequest(ctx); err != nil {
					t.Fatalf("waiting for the callback: %v", err)
				}
			}
			if got := localBody(t, r); got != tt.want {
				t.Fatalf("probe saw %q, want %q", got, tt.want)
			}
		})
	}
	select {
	case r := <-seen:
		if r.Host != "probe.internal" || r.Method != "GET" || r.Header.Get("X-From") != "probe" {
			t.Fatalf("backend saw host %q method %q x-from %q", r.Host, r.Method, r.Header.Get("X-From"))
		}
	default:
		t.Fatal("the backend saw no call")
	}
}

// TestHTTPCallTimeout: the call's timeout runs on the host clock. With no response headers by
// then, Envoy's router answers 504; once the response started, the call is reset and the
// callback gets zero headers.
func TestHTTPCallTimeout(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/hang", "headers=3 status=504 body=upstream request timeout trailers=0"},
		{"/partial", "headers=0 status= body= trailers=0"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			srv, seen := backend(t)
			clock := wasmhost.NewFakeClock(epoch)
			headersIn := &notifyTransport{rt: http.DefaultTransport, done: make(chan struct{}, 1)}
			h := probeHost(t, wasmhost.Options{Clock: clock, Clusters: map[string]string{"backend": srv.URL},
				HTTPClient: &http.Client{Transport: headersIn}})
			s := h.NewStream(wasmhost.StreamInfo{})
			defer s.Done()
			r := s.RequestHeaders(request("call", [2]string{"x-probe-cluster", "backend"}, [2]string{"x-probe-path", tt.path},
				[2]string{"x-probe-timeout", "250"}), true)
			if r.Action != wasmhost.Pause {
				t.Fatalf("dispatch: %v, want the request paused on the call", r.Action)
			}
			<-seen // the call is at the backend
			if tt.path == "/partial" {
				<-headersIn.done // and its response headers are back
			}
			clock.Advance(249 * time.Millisecond)
			// Nothing can answer the call but its timeout, so a short real wait proves it has
			// not fired early.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if r, err := s.WaitRequest(ctx); err == nil {
				t.Fatalf("before the timeout: %+v, want the request still paused", r)
			}
			clock.Advance(time.Millisecond)
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := s.WaitRequest(ctx)
			if err != nil {
				t.Fatalf("after the timeout: %v", err)
			}
			if got := localBody(t, r); got != tt.want {
				t.Fatalf("probe saw %q, want %q", got, tt.want)
			}
		})
	}
}

// notifyTransport signals each time a round trip has its response headers.
type notifyTransport struct {
	rt   http.RoundTripper
	done chan struct{}
}

func (n *notifyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := n.rt.RoundTrip(r)
	if err == nil {
		n.done <- struct{}{}
	}
	return resp, err
}

// TestContinueAfterCall: the callback resumes the paused request; the headers it edited and the
// body that waited behind them are released together.
func TestContinueAfterCall(t *testing.T) {
	srv, _ := backend(t)
	h := probeHost(t, wasmhost.Options{Clusters: map[string]string{"backend": srv.URL}})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders(request("call-continue", [2]string{"x-probe-cluster", "backend"}, [2]string{"x-probe-path", "/pong"}), false)
	if r.Action != wasmhost.Pause {
		t.Fatalf("headers: %v, want pause", r.Action)
	}
	r = s.RequestBody([]byte("held"), true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for r.Headers == nil && r.Action == wasmhost.Pause {
		var err error
		if r, err = s.WaitRequest(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r.Action != wasmhost.Continue || string(r.Body) != "held" || !r.EndOfStream {
		t.Fatalf("after the callback: action %v body %q eos %v", r.Action, r.Body, r.EndOfStream)
	}
	if got := value(r.Headers, "x-call-result"); got != "headers=4 status=201 body=pong trailers=0" {
		t.Fatalf("x-call-result = %q", got)
	}
}
