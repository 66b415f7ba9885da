package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// exchange is one request through the gateway. The handler goroutine drives it and is the only
// one writing the response; the body feeder (a second goroutine, when the request has a body)
// only records a decision and cancels the upstream call.
type exchange struct {
	g *Gateway
	s *wasmhost.Stream
	w *recorder
	r *http.Request

	headers [][2]string        // the request headers as the filter released them
	cancel  context.CancelFunc // ends the upstream call
	body    *io.PipeReader     // the upstream request body, fed by the feeder
	fed     chan struct{}      // closed when the feeder returns; nil without one

	mu       sync.Mutex
	local    *wasmhost.Response // a local response decided outside the handler goroutine
	resetErr error
	bodyRead bool // the client's body was read to its end
	ending   bool // finish set a read deadline to stop the feeder
}

// errDecided stops the upstream request body once the filter has answered or reset.
var errDecided = errors.New("the filter ended the request")

func (ex *exchange) serve() {
	pairs := requestPairs(ex.r)
	eos := ex.r.Body == nil || ex.r.Body == http.NoBody
	ex.bodyRead = eos
	res := ex.s.RequestHeaders(pairs, eos)
	if res.Action == wasmhost.Pause && res.Headers == nil {
		// Held at its headers: the body is not read until the filter resumes (Envoy stops
		// reading the connection the same way).
		res = ex.wait(ex.s.WaitRequest, res)
	}
	switch res.Action {
	case wasmhost.LocalResponse:
		ex.writeLocal(res.Local)
		return
	case wasmhost.Reset:
		ex.decide(nil, res.Err)
		return
	}
	ex.headers = res.Headers
	ctx, cancel := context.WithCancel(context.WithValue(ex.r.Context(), exchangeKey{}, ex))
	ex.cancel = cancel
	out := ex.r.WithContext(ctx)
	if res.EndOfStream {
		out.Body, out.ContentLength = http.NoBody, 0
	} else {
		// Full duplex, as Envoy streams: the upstream's answer may go out while the client is
		// still sending (Go's server would otherwise read the rest of the body first).
		_ = http.NewResponseController(ex.w.ResponseWriter).EnableFullDuplex()
		pr, pw := io.Pipe()
		out.Body, ex.body = pr, pr
		ex.fed = make(chan struct{})
		go ex.feed(pw, res)
	}
	ex.g.proxy.ServeHTTP(ex.w, out)
}

// wait blocks while the filter holds a side, up to the stream timeout. A filter that never
// lets go gets Envoy's stream idle timeout reply.
func (ex *exchange) wait(waitFn func(context.Context) (wasmhost.Result, error), res wasmhost.Result) wasmhost.Result {
	ctx, cancel := context.WithTimeout(ex.r.Context(), ex.g.timeout)
	defer cancel()
	for res.Action == wasmhost.Pause && res.Headers == nil && len(res.Body) == 0 && !res.EndOfStream {
		var err error
		if res, err = waitFn(ctx); err != nil {
			if ex.r.Context().Err() != nil {
				return wasmhost.Result{Action: wasmhost.Reset, Err: err} // the client went away
			}
			return wasmhost.Result{Action: wasmhost.LocalResponse, Local: streamTimeout()}
		}
	}
	return res
}

// timedOut reports whether a body read failed on the server's read timeout rather than on
// the deadline finish sets to stop the feeder.
func (ex *exchange) timedOut(err error) bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return !ex.ending && errors.Is(err, os.ErrDeadlineExceeded)
}

// requestTimeout is the reply to a request whose body did not arrive within the read timeout,
// as Envoy's request_timeout answers.
func requestTimeout() *wasmhost.Response {
	body := []byte("request timeout")
	return &wasmhost.Response{Status: http.StatusRequestTimeout, Body: body, Details: "request_overall_timeout",
		Headers: [][2]string{{"content-type", "text/plain"}}}
}

func streamTimeout() *wasmhost.Response {
	body := []byte("stream timeout")
	return &wasmhost.Response{Status: http.StatusRequestTimeout, Body: body, Details: "stream_idle_timeout",
		Headers: [][2]string{{"content-type", "text/plain"}}}
}

// decide records a local response or a reset decided away from the handler goroutine and
// stops the upstream call.
func (ex *exchange) decide(local *wasmhost.Response, err error) {
	ex.mu.Lock()
	if ex.local == nil && ex.resetErr == nil {
		ex.local, ex.resetErr = local, err
	}
	ex.mu.Unlock()
	if ex.cancel != nil {
		ex.cancel()
	}
}

func (ex *exchange) decided() (*wasmhost.Response, error) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.local, ex.resetErr
}

// finish stops the feeder and writes a decision nobody wrote yet. It reports whether the
// connection must be aborted: a reset, or a local response once the response started.
func (ex *exchange) finish() (abort bool) {
	if ex.fed != nil {
		ex.body.CloseWithError(errDecided) // unblocks a feeder writing to the upstream
		ex.mu.Lock()
		unread := !ex.bodyRead
		ex.mu.Unlock()
		if unread {
			// The feeder may be blocked reading a slow client: only a read deadline unblocks
			// it. Never set one otherwise: the server's background read on a kept-alive
			// connection would fail on it and cancel the context of every later request on
			// that connection. (An interrupted body read makes the server close the
			// connection after this reply, so no later request sees the deadline.)
			select {
			case <-ex.fed:
			default:
				ex.mu.Lock()
				ex.ending = true
				ex.mu.Unlock()
				_ = http.NewResponseController(ex.w.ResponseWriter).SetReadDeadline(time.Now())
			}
		}
		<-ex.fed
	}
	if ex.cancel != nil {
		ex.cancel()
	}
	local, err := ex.decided()
	switch {
	case local != nil && ex.w.status == 0:
		ex.writeLocal(local)
	case local != nil || err != nil:
		return true
	}
	return false
}

// writeLocal writes a local response as the filter left it. When the client's body was not
// read to its end, the connection closes after the reply, as Envoy's HTTP/1 codec does, rather
// than reading a body nobody wants.
func (ex *exchange) writeLocal(l *wasmhost.Response) {
	h := ex.w.Header()
	for _, kv := range l.Headers {
		h.Add(kv[0], kv[1])
	}
	ex.mu.Lock()
	unread := !ex.bodyRead
	ex.mu.Unlock()
	if unread {
		h.Set("Connection", "close")
	}
	ex.w.WriteHeader(l.Status)
	_, _ = ex.w.Write(l.Body)
}
