package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// response runs the upstream's response headers through the filter (ReverseProxy's
// ModifyResponse) and wires the body through it.
func (ex *exchange) response(r *http.Response) error {
	eos := noBody(r, ex.r.Method)
	res := ex.s.ResponseHeaders(responsePairs(r.StatusCode, r.Header), eos)
	if res.Action == wasmhost.Pause && res.Headers == nil {
		res = ex.wait(ex.s.WaitResponse, res) // held at its headers: the body waits too
	}
	switch res.Action {
	case wasmhost.LocalResponse:
		r.Body.Close()
		replace(r, res.Local.Status, res.Local.Headers, res.Local.Body)
		return nil
	case wasmhost.Reset:
		ex.decide(nil, res.Err)
		return res.Err
	}
	status := r.StatusCode
	if v := pairValue(res.Headers, ":status"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 999 {
			status = n
		}
	}
	if res.EndOfStream {
		r.Body.Close()
		replace(r, status, res.Headers, res.Body)
		return nil
	}
	r.StatusCode = status
	r.Status = ""
	r.Header = header(res.Headers)
	r.ContentLength = contentLength(r.Header)
	r.Body = &filteredBody{ex: ex, upstream: r.Body, buf: chunks.Get(), pending: res.Body}
	return nil
}

// upstreamError answers a failed upstream call (ReverseProxy's ErrorHandler): with the
// filter's decision if it made one, else with Envoy's router reply (503, or 504 on a timeout),
// which like any response runs through the filter's response callbacks.
func (ex *exchange) upstreamError(w http.ResponseWriter, err error) {
	if local, resetErr := ex.decided(); local != nil || resetErr != nil {
		return // finish writes the local response or aborts
	}
	if ex.r.Context().Err() != nil {
		return // the client went away
	}
	status, body := http.StatusServiceUnavailable, "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	if errors.Is(err, context.DeadlineExceeded) {
		status, body = http.StatusGatewayTimeout, "upstream request timeout"
	}
	ex.g.logger.Warn("upstream request failed", "error", err, "status", status)
	r := &http.Response{
		StatusCode:    status,
		Header:        http.Header{"Content-Type": {"text/plain"}, "Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	if err := ex.response(r); err != nil {
		return // reset: finish aborts
	}
	data, readErr := io.ReadAll(r.Body)
	if readErr != nil {
		return // the filter ended it: finish aborts
	}
	h := w.Header()
	for name, values := range r.Header {
		h[name] = values
	}
	w.WriteHeader(r.StatusCode)
	_, _ = w.Write(data)
}

// responsePairs presents the response as Envoy does: :status, then lower-case headers.
func responsePairs(status int, h http.Header) [][2]string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	pairs := [][2]string{{":status", strconv.Itoa(status)}}
	for _, name := range names {
		lower := strings.ToLower(name)
		if hopByHop[lower] {
			continue
		}
		for _, v := range h[name] {
			pairs = append(pairs, [2]string{lower, v})
		}
	}
	return pairs
}

// replace turns r into a complete response with the given status, headers and body.
func replace(r *http.Response, status int, pairs [][2]string, body []byte) {
	r.StatusCode, r.Status = status, ""
	r.Header = header(pairs)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
}

// header converts pairs, pseudo-headers left out, to Go's header map.
func header(pairs [][2]string) http.Header {
	h := make(http.Header, len(pairs))
	for _, kv := range pairs {
		if !strings.HasPrefix(kv[0], ":") {
			h.Add(kv[0], kv[1])
		}
	}
	return h
}

func contentLength(h http.Header) int64 {
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		return n
	}
	return -1
}

func pairValue(pairs [][2]string, name string) string {
	for _, kv := range pairs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}
