package wasmhost

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// StreamInfo describes the connection a stream arrived on; it feeds the source.*,
// destination.*, connection.* and request.protocol properties.
type StreamInfo struct {
	Source, Destination netip.AddrPort
	// Protocol is request.protocol; empty means "HTTP/1.1".
	Protocol     string
	ConnectionID uint64
}

// Stream is one HTTP request and its response, pinned to one VM for its whole life. Its
// methods are safe for concurrent use (the request body and the response may be fed from
// different goroutines); each runs the filter's callbacks on the stream's VM, one at a time.
//
// Feed a side in order: headers, then body chunks, then optionally trailers, with the end of
// stream on the last of them. Every call returns what the filter released so far. Call Done
// once the exchange is over, whatever happened.
type Stream struct {
	host  *Host
	vm    *vm
	id    uint32
	info  StreamInfo
	start time.Time

	// Guarded by vm.mu.
	created, done  bool
	req, resp      side
	pendingLocal   *localReply // asked for by the filter, sent after its callback
	resetRequested error
	local          *Response // the final local response, once sent
	resetErr       error
	replying       bool // the local reply runs through the response callbacks
	properties     map[string][]byte
}

// ErrClosed resets streams of a closed host.
var ErrClosed = errors.New("wasm host closed")

// errMisuse resets a stream fed out of order.
var errMisuse = errors.New("stream fed out of order")

// VM returns the index of the worker VM the stream is pinned to.
func (s *Stream) VM() int {
	if s.vm == nil {
		return -1
	}
	return s.vm.worker.index
}

// RequestHeaders gives the filter the request headers (pseudo-headers :method, :path,
// :authority, :scheme included; names are lower-cased). endOfStream means there is no body.
func (s *Stream) RequestHeaders(headers [][2]string, endOfStream bool) Result {
	return s.headers(&s.req, headers, endOfStream)
}

// RequestBody gives the filter the next chunk of the request body.
func (s *Stream) RequestBody(chunk []byte, endOfStream bool) Result {
	return s.body(&s.req, chunk, endOfStream)
}

// RequestTrailers gives the filter the request trailers, which end the request.
func (s *Stream) RequestTrailers(trailers [][2]string) Result {
	return s.trailers(&s.req, trailers)
}

// ResponseHeaders gives the filter the upstream's response headers (:status included).
func (s *Stream) ResponseHeaders(headers [][2]string, endOfStream bool) Result {
	return s.headers(&s.resp, headers, endOfStream)
}

// ResponseBody gives the filter the next chunk of the response body.
func (s *Stream) ResponseBody(chunk []byte, endOfStream bool) Result {
	return s.body(&s.resp, chunk, endOfStream)
}

// ResponseTrailers gives the filter the response trailers, which end the response.
func (s *Stream) ResponseTrailers(trailers [][2]string) Result {
	return s.trailers(&s.resp, trailers)
}

// WaitRequest blocks while the filter holds the request with nothing new released, and then
// returns what was released, or the local response, or ctx's error.
func (s *Stream) WaitRequest(ctx context.Context) (Result, error) { return s.wait(ctx, &s.req) }

// WaitResponse is WaitRequest for the response side.
func (s *Stream) WaitResponse(ctx context.Context) (Result, error) { return s.wait(ctx, &s.resp) }

// Done ends the stream: the filter's proxy_on_log, proxy_on_done and proxy_on_delete run, as
// Envoy runs them when a stream is destroyed. Done is idempotent.
func (s *Stream) Done() {
	v := s.vm
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.unlock()
	if s.done {
		return
	}
	s.done = true
	s.req.wake()
	s.resp.wake()
	if !s.created {
		return
	}
	delete(v.streams, s.id)
	if v.failed.Load() {
		return
	}
	f := &frame{stream: s, logPhase: true}
	if v.exports.log != nil {
		v.call(v.exports.log, f, uint64(s.id))
	}
	if v.exports.done != nil {
		v.call(v.exports.done, &frame{stream: s}, uint64(s.id))
	}
	if v.exports.delete != nil {
		v.call(v.exports.delete, &frame{stream: s}, uint64(s.id))
	}
	if !v.failed.Load() {
		v.worker.healthy()
	}
}

func (s *Stream) headers(d *side, headers [][2]string, eos bool) Result {
	v := s.vm
	if v == nil {
		return Result{Action: Reset, Err: ErrClosed}
	}
	v.mu.Lock()
	defer v.unlock()
	if !s.usable() {
		return s.drain(d)
	}
	if d.headersIn || s.done {
		s.resetWith(errMisuse)
		return s.drain(d)
	}
	if !s.create() {
		return s.drain(d)
	}
	d.headers = newHeaderMap(headers)
	d.headersIn, d.eosAtHeaders, d.eosIn = true, eos, eos
	s.pump(d)
	return s.drain(d)
}

func (s *Stream) body(d *side, chunk []byte, eos bool) Result {
	v := s.vm
	if v == nil {
		return Result{Action: Reset, Err: ErrClosed}
	}
	v.mu.Lock()
	defer v.unlock()
	if !s.usable() {
		return s.drain(d)
	}
	if !d.headersIn || d.eosIn || s.done {
		s.resetWith(errMisuse)
		return s.drain(d)
	}
	d.body = append(d.body, chunk...)
	d.received += int64(len(chunk))
	d.eosIn = eos
	if len(chunk) > 0 || eos {
		d.bodyPending = true
	}
	if (d.headersHeld || d.buffering) && len(d.body) > s.host.opts.BufferLimit {
		// Like Envoy's filter manager, the limit is checked as data joins a buffer, before the
		// filter sees it.
		s.overflow(d)
		return s.drain(d)
	}
	if d.headersHeld {
		// The filter paused the headers, so it sees nothing of this side until it resumes.
		return s.drain(d)
	}
	s.pump(d)
	return s.drain(d)
}

func (s *Stream) trailers(d *side, trailers [][2]string) Result {
	v := s.vm
	if v == nil {
		return Result{Action: Reset, Err: ErrClosed}
	}
	v.mu.Lock()
	defer v.unlock()
	if !s.usable() {
		return s.drain(d)
	}
	if !d.headersIn || d.eosIn || s.done {
		s.resetWith(errMisuse)
		return s.drain(d)
	}
	d.trailers = newHeaderMap(trailers)
	d.trailersIn, d.eosIn = true, true
	s.pump(d)
	return s.drain(d)
}

func (s *Stream) wait(ctx context.Context, d *side) (Result, error) {
	v := s.vm
	if v == nil {
		return Result{Action: Reset, Err: ErrClosed}, nil
	}
	for {
		v.mu.Lock()
		s.usable()
		r := s.drain(d)
		done := s.done
		v.unlock()
		if r.Action != Pause || r.Headers != nil || len(r.Body) > 0 || r.Trailers != nil || r.EndOfStream || done {
			return r, nil
		}
		select {
		case <-d.notify:
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}

// usable reports whether the stream can still take input, failing it first if its VM has
// failed.
func (s *Stream) usable() bool {
	switch {
	case s.ended():
	case s.vm.failed.Load():
		s.failStream()
	case s.vm.closed:
		s.resetWith(ErrClosed)
	}
	return !s.ended()
}

// create runs proxy_on_context_create on first use, as Envoy does on the first callback.
func (s *Stream) create() bool {
	if s.created {
		return true
	}
	v := s.vm
	s.created = true
	v.streams[s.id] = s
	if _, ok := v.call(v.exports.contextCreate, &frame{stream: s}, uint64(s.id), rootContextID); !ok {
		return false
	}
	return true
}
