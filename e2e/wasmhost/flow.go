package wasmhost

import (
	"errors"
	"strconv"
)

// side is the request or the response of a stream as Envoy's filter manager sees it for this
// one filter: what came in, what the filter has seen, what it holds, and what it released that
// the caller has not collected yet. All fields are guarded by vm.mu.
type side struct {
	response bool
	notify   chan struct{} // wakes WaitRequest / WaitResponse; capacity 1

	headers, trailers headerMap
	body              []byte // held data: buffered by the filter, or waiting behind paused headers
	received          int64  // body bytes given so far

	headersIn, trailersIn, eosIn bool
	eosAtHeaders                 bool

	headersSeen, trailersSeen bool
	bodyPending               bool // data or end of stream the filter has not seen yet

	headersHeld  bool // Pause on headers: the whole side stops (StopAllIterationAndWatermark)
	buffering    bool // Pause on a body callback: held data is buffered and visible to the filter
	trailersHeld bool

	headersReleased, trailersReleased bool
	continueRequested                 bool

	outHeaders, outTrailers [][2]string
	outBody                 []byte
	outEOS, eosCollected    bool
}

// wake signals a waiter without blocking.
func (d *side) wake() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

func (d *side) holding() bool { return d.headersHeld || d.buffering || d.trailersHeld }

// callback kinds, indexing the guest's exports.
type stage int

const (
	stageHeaders stage = iota
	stageBody
	stageTrailers
)

func (s *Stream) ended() bool { return s.local != nil || s.resetErr != nil }

// pump delivers to the filter whatever it may see next on side d, in order (headers, body,
// trailers), and releases what it lets through. Each pass handles one stage, so three passes
// always suffice.
func (s *Stream) pump(d *side) {
	for i := 0; i < 3 && !s.ended(); i++ {
		switch {
		case d.headersIn && !d.headersSeen:
			d.headersSeen = true
			if s.callback(d, stageHeaders, len(d.headers), d.eosAtHeaders) {
				s.releaseHeaders(d)
			} else if !s.ended() {
				d.headersHeld = true
				return
			}
		case d.headersHeld:
			return
		case d.bodyPending:
			d.bodyPending = false
			if s.callback(d, stageBody, len(d.body), d.eosIn && !d.trailersIn) {
				d.buffering = false
				s.releaseBody(d)
			} else if !s.ended() {
				d.buffering = true
				if len(d.body) > s.host.opts.BufferLimit {
					s.overflow(d)
					return
				}
			}
		case d.trailersIn && !d.trailersSeen:
			d.trailersSeen = true
			if s.callback(d, stageTrailers, len(d.trailers), false) {
				d.buffering = false
				s.releaseBody(d)
				s.releaseTrailers(d)
			} else if !s.ended() {
				d.trailersHeld = true
				return
			}
		default:
			return
		}
	}
}

// callback runs one HTTP callback of side d and settles what the filter asked for meanwhile.
// It reports whether the filter let the data through (continue, or pause followed by its own
// proxy_continue_stream in the same callback).
func (s *Stream) callback(d *side, st stage, n int, eos bool) bool {
	v := s.vm
	fn := v.exports.requestHeaders
	switch {
	case !d.response && st == stageBody:
		fn = v.exports.requestBody
	case !d.response && st == stageTrailers:
		fn = v.exports.requestTrailers
	case d.response && st == stageHeaders:
		fn = v.exports.responseHeaders
	case d.response && st == stageBody:
		fn = v.exports.responseBody
	case d.response && st == stageTrailers:
		fn = v.exports.responseTrailers
	}
	if fn == nil {
		return true
	}
	f := &frame{stream: s}
	if st == stageBody {
		f.bodySide = d
	}
	params := []uint64{uint64(s.id), uint64(n), 0}
	if st != stageTrailers {
		params[2] = b2u(eos)
	} else {
		params = params[:2]
	}
	r, ok := v.call(fn, f, params...)
	if !ok {
		s.usable() // the VM failed (503) or closed (reset)
		return false
	}
	cont := guestAction(r) == guestContinue
	if d.continueRequested {
		d.continueRequested = false
		cont = true
	}
	s.vm.settle(f)
	if s.ended() {
		return false
	}
	return cont
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// settle acts on what the filter asked for during a callback, for every stream it touched:
// a local response, a reset, or continuing a paused side.
func (v *vm) settle(f *frame) {
	for _, s := range f.touched {
		if s.done {
			s.pendingLocal, s.resetRequested = nil, nil
			continue
		}
		if lr := s.pendingLocal; lr != nil {
			s.pendingLocal = nil
			if !s.replying && !s.ended() {
				s.sendLocal(lr)
			}
		}
		if err := s.resetRequested; err != nil {
			s.resetRequested = nil
			s.resetWith(err)
		}
		for _, d := range []*side{&s.req, &s.resp} {
			if d.continueRequested && !s.ended() {
				d.continueRequested = false
				s.resume(d)
			}
		}
	}
}

// resume lets go of what side d holds after the filter called proxy_continue_stream from
// another callback (an http_call response, a tick), and delivers what waited behind it.
func (s *Stream) resume(d *side) {
	switch {
	case d.headersHeld:
		d.headersHeld = false
		s.releaseHeaders(d)
		s.pump(d)
	case d.trailersHeld:
		d.trailersHeld, d.buffering = false, false
		s.releaseBody(d)
		s.releaseTrailers(d)
	case d.buffering:
		d.buffering = false
		s.releaseBody(d)
		s.pump(d)
	}
	d.wake()
}

func (s *Stream) releaseHeaders(d *side) {
	d.headersReleased = true
	d.outHeaders = d.headers.clone()
	if d.eosAtHeaders {
		d.outEOS = true
	}
}

func (s *Stream) releaseBody(d *side) {
	switch {
	case len(d.body) == 0:
	case d.outBody == nil: // hand the held data over instead of copying it
		d.outBody, d.body = d.body, nil
	default:
		d.outBody = append(d.outBody, d.body...)
		d.body = d.body[:0]
	}
	if d.eosIn && !d.trailersIn && !d.bodyPending {
		d.outEOS = true
	}
}

func (s *Stream) releaseTrailers(d *side) {
	d.trailersReleased = true
	d.outTrailers = d.trailers.clone()
	d.outEOS = true
}

// drain hands the caller what side d released since the last call.
func (s *Stream) drain(d *side) Result {
	switch {
	case s.local != nil:
		return Result{Action: LocalResponse, Local: s.local}
	case s.resetErr != nil:
		return Result{Action: Reset, Err: s.resetErr}
	}
	r := Result{Action: Continue, Headers: d.outHeaders, Body: d.outBody, Trailers: d.outTrailers}
	if d.outEOS && !d.eosCollected {
		r.EndOfStream, d.eosCollected = true, true
	}
	d.outHeaders, d.outBody, d.outTrailers = nil, nil, nil
	if d.holding() || d.bodyPending {
		r.Action = Pause
	}
	return r
}

// overflow ends a stream whose held data passed the buffer limit, the way Envoy's filter
// manager does: 413 while the request is processed, 500 on the response before its headers
// went out, a reset after.
func (s *Stream) overflow(d *side) {
	switch {
	case !d.response:
		s.sendLocal(envoyReply(413, "request_payload_too_large"))
	case !d.headersReleased:
		s.sendLocal(envoyReply(500, "response_payload_too_large"))
	default:
		s.resetWith(errors.New("response body above the buffer limit after the response started"))
	}
}

// errLocalAfterResponse resets a stream that asks for a local reply once the response started.
var errLocalAfterResponse = errors.New("local response after the response headers went out")

// sendLocal sends a local response. While the request is being processed it runs through the
// filter's response callbacks (Envoy encodes local replies through the filter chain), which may
// edit it; during the response it is sent as is, or the stream is reset when the response
// headers are already out.
func (s *Stream) sendLocal(lr *localReply) {
	headers := headerMap{{":status", strconv.Itoa(lr.status)}}
	for _, kv := range lr.headers {
		headers = headers.add(kv[0], kv[1])
	}
	if len(lr.body) > 0 {
		headers = headers.replace("content-length", strconv.Itoa(len(lr.body)))
		if _, ok := headers.get("content-type"); !ok {
			headers = headers.add("content-type", "text/plain")
		}
	}
	body := lr.body
	d := &s.resp
	switch {
	case d.headersReleased:
		s.resetWith(errLocalAfterResponse)
		return
	case !d.headersIn && !s.vm.failed.Load():
		s.replying = true
		*d = side{response: true, notify: d.notify}
		d.headers, d.headersIn, d.eosAtHeaders = headers, true, len(lr.body) == 0
		d.body, d.eosIn, d.bodyPending = append([]byte(nil), lr.body...), true, len(lr.body) > 0
		s.pump(d)
		if s.ended() { // the VM failed while the filter saw its reply
			return
		}
		headers = d.headers
		body = append(d.outBody, d.body...)
	}
	status := lr.status
	if v, ok := headers.get(":status"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 200 && n <= 599 {
			status = n
		}
	}
	s.local = &Response{Status: status, Headers: headers.regular(), Body: body, Details: lr.details}
	s.req.wake()
	s.resp.wake()
}

// failStream answers a stream on a failed VM with Envoy's fail-closed reply.
func (s *Stream) failStream() {
	if s.ended() {
		return
	}
	s.local = &Response{Status: 503, Details: "wasm_fail_stream"}
	s.req.wake()
	s.resp.wake()
}

func (s *Stream) resetWith(err error) {
	if s.ended() {
		return
	}
	s.resetErr = err
	s.req.wake()
	s.resp.wake()
}
