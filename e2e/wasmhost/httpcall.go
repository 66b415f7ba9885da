package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// http_call, as Envoy's Context::httpCall: the call belongs to the root context, and what
// happens to it reaches proxy_on_http_call_response on the calling VM the way Envoy's async
// client reports it:
//
//   - a response: its headers (:status first), body and trailers;
//   - no connection, or no response headers in time: the router's own reply, 503 "upstream
//     connect error or disconnect/reset before headers. reset reason: connection failure" or
//     504 "upstream request timeout", with :status, content-length and content-type;
//   - a reset once the response started (the body broke off or ran out of time, or exceeded
//     the buffer limit): zero headers, zero body, zero trailers.

const (
	// maxCallsPerVM bounds http_calls in flight per VM; more is InternalFailure at dispatch.
	maxCallsPerVM = 1024
	// maxCallTimeout stands in for "no timeout" (timeout 0), which Envoy allows but a test
	// host must not: every call ends.
	maxCallTimeout = 5 * time.Minute
)

type httpCall struct {
	token  uint32
	cancel context.CancelFunc
}

// callResponse is what the filter reads inside proxy_on_http_call_response.
type callResponse struct {
	failed            bool
	headers, trailers headerMap
	body              []byte
}

func hostHTTPCall(v *vm, s []uint64) status {
	cluster, ok1 := v.readString(u32(s, 0), u32(s, 1))
	rawHeaders, ok2 := v.view(u32(s, 2), u32(s, 3))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	headers, ok := parsePairs(rawHeaders)
	if !ok {
		return statusBadArgument
	}
	body, ok1 := v.view(u32(s, 4), u32(s, 5))
	rawTrailers, ok2 := v.view(u32(s, 6), u32(s, 7))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	trailers, ok := parsePairs(rawTrailers)
	if !ok {
		return statusBadArgument
	}
	tokenPtr := u32(s, 9)
	// Like Envoy, prove the token can be written before starting anything.
	if !v.writeU32(tokenPtr, 0) {
		return statusInvalidMemoryAccess
	}
	base := v.host.clusters[cluster]
	if base == nil {
		return statusBadArgument // Envoy: no such thread-local cluster
	}
	hm := newHeaderMap(headers)
	method, okM := hm.get(":method")
	path, okP := hm.get(":path")
	authority, okA := hm.get(":authority")
	if !okM || !okP || !okA || !strings.HasPrefix(path, "/") {
		return statusBadArgument // Envoy requires :method, :path and :authority
	}
	if len(v.calls) >= maxCallsPerVM {
		return statusInternalFailure
	}
	timeout := time.Duration(u32(s, 8)) * time.Millisecond
	if timeout == 0 || timeout > maxCallTimeout {
		timeout = maxCallTimeout
	}

	ctx, cancel := context.WithCancelCause(v.host.baseCtx)
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base.String(), "/")+path, bytes.NewReader(append([]byte(nil), body...)))
	if err != nil {
		cancel(nil)
		return statusBadArgument
	}
	req.Host = authority
	for _, kv := range hm {
		if !strings.HasPrefix(kv[0], ":") {
			req.Header.Add(kv[0], kv[1])
		}
	}
	if len(trailers) > 0 {
		req.Trailer = http.Header{}
		for _, kv := range trailers {
			req.Trailer.Add(kv[0], kv[1])
		}
		req.ContentLength = -1 // trailers need chunked encoding
	}

	v.token++
	for v.token == 0 || v.calls[v.token] != nil {
		v.token++
	}
	call := &httpCall{token: v.token, cancel: func() { cancel(errHostClosed) }}
	v.calls[call.token] = call
	timer := v.host.opts.Clock.AfterFunc(timeout, func() { cancel(errCallTimeout) })
	v.host.inflight.Add(1)
	go func() {
		defer v.host.inflight.Done()
		resp := v.host.roundTrip(req)
		timer.Stop()
		cancel(nil)
		v.deliverCallResponse(call, resp)
	}()
	if !v.writeU32(tokenPtr, call.token) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

var (
	errCallTimeout = errors.New("http_call timeout")
	errHostClosed  = errors.New("wasm host closed")
)

// roundTrip performs the call and turns its failures into what Envoy reports (see above).
func (h *Host) roundTrip(req *http.Request) *callResponse {
	resp, err := h.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(context.Cause(req.Context()), errCallTimeout) {
			return routerReply(504, "upstream request timeout")
		}
		return routerReply(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure")
	}
	defer resp.Body.Close()
	limit := h.opts.MaxCallResponseBytes
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil || len(body) > limit {
		return &callResponse{failed: true}
	}
	return &callResponse{
		headers:  responsePairs(strconv.Itoa(resp.StatusCode), resp.Header),
		trailers: responsePairs("", resp.Trailer),
		body:     body,
	}
}

// routerReply is the response Envoy's router makes up when the upstream gives none.
func routerReply(status int, body string) *callResponse {
	return &callResponse{
		headers: headerMap{{":status", strconv.Itoa(status)}, {"content-length", strconv.Itoa(len(body))}, {"content-type", "text/plain"}},
		body:    []byte(body),
	}
}

// responsePairs turns Go's header map into Envoy's pairs: :status first, lower-case names
// (sorted, since Go does not keep the order), one pair per value.
func responsePairs(status string, h http.Header) headerMap {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	var m headerMap
	if status != "" {
		m = append(m, [2]string{":status", status})
	}
	for _, name := range names {
		for _, value := range h[name] {
			m = append(m, [2]string{strings.ToLower(name), value})
		}
	}
	return m
}

// deliverCallResponse runs proxy_on_http_call_response on the root context of the VM that made
// the call. A VM that failed or closed meanwhile drops it.
func (v *vm) deliverCallResponse(call *httpCall, resp *callResponse) {
	v.mu.Lock()
	defer v.unlock()
	if v.calls[call.token] != call {
		return
	}
	delete(v.calls, call.token)
	if v.exports.httpCallResponse == nil {
		return
	}
	f := &frame{callResp: resp}
	var nh, nt int
	if !resp.failed {
		nh, nt = len(resp.headers), len(resp.trailers)
	}
	v.call(v.exports.httpCallResponse, f, rootContextID, uint64(call.token), uint64(nh), uint64(len(resp.body)), uint64(nt))
	v.settle(f)
}
