package wasmhost

import "fmt"

// Action is where a stream side stands after a call.
type Action int

const (
	// Continue: the filter holds nothing of this side; everything given so far was released
	// (see Result.Headers and Result.Body).
	Continue Action = iota
	// Pause: the filter holds this side's headers or body. More input, or the filter's own
	// asynchronous work (an http_call, a tick) may release it; WaitRequest and WaitResponse
	// block until then.
	Pause
	// LocalResponse: the stream was answered without the upstream (Result.Local).
	LocalResponse
	// Reset: the stream was reset; the client gets no response (Result.Err says why).
	Reset
)

func (a Action) String() string {
	switch a {
	case Continue:
		return "continue"
	case Pause:
		return "pause"
	case LocalResponse:
		return "local-response"
	case Reset:
		return "reset"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Result is what one call on a Stream produced.
type Result struct {
	Action Action
	// Headers is non-nil when this call released the side's headers: a copy of them as the
	// filter left them, pseudo-headers (:method :path :authority :scheme, or :status) first.
	Headers [][2]string
	// Body is the body data this call released, in order, as the filter left it.
	Body []byte
	// Trailers is non-nil when this call released the side's trailers.
	Trailers [][2]string
	// EndOfStream reports that this call released the end of the side.
	EndOfStream bool
	// Local is the local response when Action is LocalResponse; every later call on the
	// stream returns the same one.
	Local *Response
	// Err explains a Reset.
	Err error
}

// Response is a local response: what the client receives instead of the upstream's answer.
type Response struct {
	Status int
	// Headers are the response headers without :status, after the filter's response
	// callbacks edited them.
	Headers [][2]string
	Body    []byte
	// Details is the response code details (Envoy's %RESPONSE_CODE_DETAILS%), such as
	// "wasm_fail_stream" for a failed VM or "request_payload_too_large".
	Details string
}
