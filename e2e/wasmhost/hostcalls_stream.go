package wasmhost

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// Stream control. Like Envoy, the host only records what the filter asked for; it acts once the
// callback has returned (see Stream.settle), because the filter is still running when it calls.

func hostContinueStream(v *vm, s []uint64) status {
	t := streamType(u32(s, 0))
	st := v.frame.currentStream()
	switch t {
	case streamRequest, streamResponse:
	default:
		return statusBadArgument // Envoy has no continue for the L4 stream types
	}
	if st == nil {
		return statusOK // the root context has no stream to continue: Envoy ignores it
	}
	if t == streamRequest {
		st.req.continueRequested = true
	} else {
		st.resp.continueRequested = true
	}
	v.frame.touch(st)
	return statusOK
}

// errClosedByFilter is the reset cause of proxy_close_stream.
var errClosedByFilter = errors.New("stream closed by the filter")

func hostCloseStream(v *vm, s []uint64) status {
	t := streamType(u32(s, 0))
	if t > streamUpstream {
		return statusBadArgument
	}
	st := v.frame.currentStream()
	if st == nil || t == streamDownstream || t == streamUpstream {
		return statusOK // no L4 connection here; Envoy's HTTP context ignores these too
	}
	if st.resetRequested == nil {
		st.resetRequested = errClosedByFilter
	}
	v.frame.touch(st)
	return statusOK
}

// hostSendLocalResponse records the reply; the stream sends it after the callback. Only the
// first reply of a stream counts.
func hostSendLocalResponse(v *vm, s []uint64) status {
	code := u32(s, 0)
	details, ok1 := v.readString(u32(s, 1), u32(s, 2))
	body, ok2 := v.view(u32(s, 3), u32(s, 4))
	raw, ok3 := v.view(u32(s, 5), u32(s, 6))
	if !ok1 || !ok2 || !ok3 {
		return statusInvalidMemoryAccess
	}
	// Go's net/http refuses anything else, and an informational status is no final answer.
	if code < 200 || code > 599 {
		return statusBadArgument
	}
	headers, ok := parsePairs(raw)
	if !ok {
		return statusBadArgument
	}
	for _, kv := range headers {
		if !validName(kv[0]) || !validValue(kv[1]) || kv[0][0] == ':' {
			return statusBadArgument
		}
	}
	st := v.frame.currentStream()
	if st == nil {
		return statusOK // nothing to answer in the root context; Envoy ignores it as well
	}
	if st.pendingLocal == nil && !st.ended() {
		st.pendingLocal = &localReply{
			status:  int(code),
			details: strings.Map(noSpace, details), // as Envoy sanitizes response code details
			body:    append([]byte(nil), body...),
			headers: headers,
		}
	}
	v.frame.touch(st)
	return statusOK
}

// currentStream is the stream whose context the host calls act on, or nil for the root.
func (f *frame) currentStream() *Stream {
	if f == nil {
		return nil
	}
	return f.stream
}

// localReply is a local response before it is sent.
type localReply struct {
	status  int
	details string
	body    []byte
	headers [][2]string
}

// envoyReply returns the local reply Envoy itself sends, with Envoy's status text as body.
func envoyReply(code int, details string) *localReply {
	return &localReply{status: code, details: details, body: []byte(statusText(code))}
}

func statusText(code int) string {
	switch code {
	case 413:
		return "Payload Too Large"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	return strconv.Itoa(code)
}

func noSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return '_'
	}
	return r
}
