package wasmhost_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestBodyBuffering: a filter that pauses body callbacks (StopIterationAndBuffer) sees the whole
// buffered body on the next callback and releases it, rewritten, at the end of the stream.
func TestBodyBuffering(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders(request("buffer"), false)
	if r.Action != wasmhost.Continue || r.Headers == nil || r.EndOfStream {
		t.Fatalf("headers: %+v, want them released without the end of stream", r)
	}
	for _, chunk := range []string{"abc", "def"} {
		r = s.RequestBody([]byte(chunk), false)
		if r.Action != wasmhost.Pause || len(r.Body) != 0 {
			t.Fatalf("chunk %q: %+v, want it buffered", chunk, r)
		}
	}
	r = s.RequestBody([]byte("gh"), true)
	if r.Action != wasmhost.Continue || string(r.Body) != "len=8:abcdefgh" || !r.EndOfStream {
		t.Fatalf("last chunk: action %v body %q eos %v; want the whole body rewritten", r.Action, r.Body, r.EndOfStream)
	}
	if m, _ := h.Metric("probe_request_body_bytes"); m.Count != 1 || m.Sum != 8 {
		t.Fatalf("body histogram count %d sum %d, want 1 and 8", m.Count, m.Sum)
	}
}

// TestStreamedBody: a filter that continues every chunk releases each one as it comes.
func TestStreamedBody(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	s.RequestHeaders(request(""), false)
	var got strings.Builder
	for i, chunk := range []string{"one ", "two ", "three"} {
		r := s.RequestBody([]byte(chunk), i == 2)
		if r.Action != wasmhost.Continue {
			t.Fatalf("chunk %d: %v", i, r.Action)
		}
		got.Write(r.Body)
		if r.EndOfStream != (i == 2) {
			t.Fatalf("chunk %d: end of stream %v", i, r.EndOfStream)
		}
	}
	if got.String() != "one two three" {
		t.Fatalf("released %q", got.String())
	}
}

// TestBufferLimit: data held for the filter above the limit ends the stream the way Envoy's
// filter manager does.
func TestBufferLimit(t *testing.T) {
	const limit = 16
	chunk := []byte(strings.Repeat("x", 10))
	tests := []struct {
		name       string
		action     string
		response   bool // overflow the response side
		wantStatus int  // 0: a reset
		wantDetail string
	}{
		{"request buffered by the filter", "buffer", false, 413, "request_payload_too_large"},
		{"request held behind paused headers", "hold", false, 413, "request_payload_too_large"},
		{"response held behind paused headers", "resphold", true, 500, "response_payload_too_large"},
		{"response buffered after its headers went out", "respbuffer", true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := probeHost(t, wasmhost.Options{BufferLimit: limit})
			s := h.NewStream(wasmhost.StreamInfo{})
			defer s.Done()
			r := s.RequestHeaders(request(tt.action), tt.response) // the request ends at its headers when the response overflows
			feed := s.RequestBody
			if tt.response {
				if r.Action != wasmhost.Continue {
					t.Fatalf("request: %v", r.Action)
				}
				s.ResponseHeaders([][2]string{{":status", "200"}}, false)
				feed = s.ResponseBody
			}
			if r := feed(chunk, false); r.Action != wasmhost.Pause {
				t.Fatalf("first chunk (under the limit): %v, want pause", r.Action)
			}
			r = feed(chunk, false)
			if tt.wantStatus == 0 {
				if r.Action != wasmhost.Reset || r.Err == nil {
					t.Fatalf("second chunk: %+v, want a reset", r)
				}
				return
			}
			if r.Action != wasmhost.LocalResponse || r.Local.Status != tt.wantStatus || r.Local.Details != tt.wantDetail {
				t.Fatalf("second chunk: %+v, want local %d %s", r, tt.wantStatus, tt.wantDetail)
			}
		})
	}
}

// TestLocalResponse: a local reply sent while the request is processed runs through the
// filter's response callbacks, as in Envoy; the probe marks every response it sees.
func TestLocalResponse(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	r := s.RequestHeaders(request("local"), false)
	if r.Action != wasmhost.LocalResponse {
		t.Fatalf("action %v, want a local response", r.Action)
	}
	l := r.Local
	if l.Status != 403 || string(l.Body) != "denied" {
		t.Fatalf("local response %d %q", l.Status, l.Body)
	}
	for name, want := range map[string]string{"x-local": "1", "content-type": "text/plain", "content-length": "6", "x-probe-response": "seen"} {
		if got := value(l.Headers, name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	// The stream is over: more input changes nothing.
	if r := s.RequestBody([]byte("late"), true); r.Action != wasmhost.LocalResponse || r.Local != l {
		t.Fatalf("after the local response: %+v", r)
	}
}

func TestMisuseResets(t *testing.T) {
	h := probeHost(t, wasmhost.Options{})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	if r := s.RequestBody([]byte("x"), true); r.Action != wasmhost.Reset || r.Err == nil {
		t.Fatalf("body before headers: %+v, want a reset", r)
	}
}

// TestTrailers: trailers end a side; a filter that continues releases them with the end of
// stream.
func TestTrailers(t *testing.T) {
	h := newHost(t, "noop.wasm", wasmhost.Options{Workers: 1})
	s := h.NewStream(wasmhost.StreamInfo{})
	defer s.Done()
	s.RequestHeaders(request(""), false)
	if r := s.RequestBody([]byte("x"), false); r.EndOfStream {
		t.Fatalf("body without end of stream: %+v", r)
	}
	r := s.RequestTrailers([][2]string{{"Grpc-Status", "0"}})
	if r.Action != wasmhost.Continue || !r.EndOfStream || value(r.Trailers, "grpc-status") != "0" {
		t.Fatalf("trailers: %+v", r)
	}
	if r := s.RequestBody([]byte("late"), true); r.Action != wasmhost.Reset {
		t.Fatalf("body after the trailers: %+v, want a reset (out of order)", r)
	}
}
