package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// readChunk is the size of the body reads handed to the filter one by one.
const readChunk = 32 << 10

// chunks recycles readChunk-sized buffers: the request pump, the response body and the
// reverse proxy's copy loop each need one per request, which would otherwise be the largest
// allocation of a proxied request. It is also the ReverseProxy's BufferPool.
var chunks chunkPool

type chunkPool struct{ p sync.Pool }

func (c *chunkPool) Get() []byte {
	if b, ok := c.p.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, readChunk)
}

func (c *chunkPool) Put(b []byte) {
	if cap(b) == readChunk {
		b = b[:readChunk]
		c.p.Put(&b)
	}
}

// feed reads the client's body chunk by chunk, runs each through the filter and writes what the
// filter releases into the upstream request body.
func (ex *exchange) feed(pw *io.PipeWriter, res wasmhost.Result) {
	defer close(ex.fed)
	pw.CloseWithError(ex.pump(pw, res)) // nil ends the upstream body normally
}

func (ex *exchange) pump(pw *io.PipeWriter, res wasmhost.Result) error {
	buf := chunks.Get()
	defer chunks.Put(buf) // RequestBody copies what it keeps
	eof := false
	for {
		switch res.Action {
		case wasmhost.LocalResponse:
			ex.decide(res.Local, nil)
			return errDecided
		case wasmhost.Reset:
			ex.decide(nil, res.Err)
			return errDecided
		}
		if len(res.Body) > 0 {
			if _, err := pw.Write(res.Body); err != nil {
				return err // the upstream call is over
			}
		}
		if res.EndOfStream {
			return nil
		}
		if eof {
			// The client sent everything and the filter still holds some of it.
			res = ex.wait(ex.s.WaitRequest, wasmhost.Result{Action: wasmhost.Pause})
			continue
		}
		n, err := ex.r.Body.Read(buf)
		switch {
		case errors.Is(err, io.EOF):
			eof = true
			ex.mu.Lock()
			ex.bodyRead = true
			ex.mu.Unlock()
		case err != nil && ex.timedOut(err):
			// The server's read timeout ended a body the client was too slow to send: Envoy's
			// request timeout reply.
			ex.decide(requestTimeout(), nil)
			return errDecided
		case err != nil:
			err = fmt.Errorf("reading the request body: %w", err)
			ex.decide(nil, err)
			return err
		case n == 0:
			continue
		}
		res = ex.s.RequestBody(buf[:n], eof)
	}
}

// filteredBody is the upstream response body as the filter releases it.
type filteredBody struct {
	ex           *exchange
	upstream     io.ReadCloser
	buf          []byte
	pending      []byte
	upstreamDone bool // the upstream body ended; the filter may still hold the tail
	eos          bool // the filter released the end
	err          error
}

func (b *filteredBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		switch {
		case b.eos:
			return 0, io.EOF
		case b.err != nil:
			return 0, b.err
		}
		var res wasmhost.Result
		if b.upstreamDone {
			res = b.ex.wait(b.ex.s.WaitResponse, wasmhost.Result{Action: wasmhost.Pause})
		} else {
			n, err := b.upstream.Read(b.buf)
			b.upstreamDone = errors.Is(err, io.EOF)
			if err != nil && !b.upstreamDone {
				b.err = err
				return 0, err
			}
			if n == 0 && !b.upstreamDone {
				continue
			}
			res = b.ex.s.ResponseBody(b.buf[:n], b.upstreamDone)
		}
		switch res.Action {
		case wasmhost.LocalResponse, wasmhost.Reset:
			// The response headers are out: all that is left is to reset, as Envoy does.
			b.err = errDecided
			b.ex.decide(nil, errors.New("the filter ended the response after it started"))
			return 0, b.err
		}
		b.pending, b.eos = res.Body, res.EndOfStream
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// Close returns the read buffer to the pool; the reverse proxy reads no more after it.
func (b *filteredBody) Close() error {
	if b.buf != nil {
		chunks.Put(b.buf)
		b.buf = nil
		if b.err == nil && !b.eos {
			b.err = errors.New("response body closed")
		}
	}
	return b.upstream.Close()
}

var _ io.ReadCloser = (*filteredBody)(nil)

// noBody reports whether a response carries no body.
func noBody(r *http.Response, method string) bool {
	return r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || method == http.MethodHead ||
		r.StatusCode == http.StatusNoContent || r.StatusCode == http.StatusNotModified
}
