package plugin

import (
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// httpContext is one request. All per-request state lives here.
type httpContext struct {
	types.DefaultHttpContext
	plugin    *pluginContext
	engine    *engine.Engine
	notBefore time.Time // when the engine's snapshot was issued

	requestID string // the client's or Envoy's x-request-id, for the denial log line
	route     string // the matched route's name, the route label of the request counters
	keyID     string // the authenticated key, for usage reporting
	maxBody   int64
	bodySeen  int64
	denied    bool
	// response are the edits to the upstream's response headers (security and CORS headers);
	// nil on routes without them, which then pay nothing in the response callback.
	response []engine.HeaderEdit
	// pending is an allowed decision whose route verifies the whole body (a webhook
	// signature): the body is buffered and judged at its end; req keeps the request headers
	// for that. nil on every other route, which never buffers.
	pending *engine.Decision
	// req is the request as judged: the body's judgement, the denial log line (method, path)
	// and usage reporting (Now, the key's time of use) read it.
	req      engine.Request
	reqEnded bool // the request had no body
	// decision is the engine's decision on the request headers (pending points to it when set).
	decision engine.Decision
	// leases are the concurrency slots the request holds until its stream ends.
	leases []engine.Lease
	// limits is where the engine records the rate-limit checks of this request: part of the
	// context's own allocation rather than one more per limited request.
	limits engine.LimitResult
}

// panicHook lets tests inject a panic inside a callback; nil in production builds.
var panicHook func(headers [][2]string)

func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) (action types.Action) {
	defer h.recoverPanic("request headers", &action)
	if h.engine == nil {
		return h.reply(engine.Deny(engine.CodePolicyUnavailable)) // no policy yet: fail closed
	}
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		proxywasm.LogErrorf("portcullis: reading request headers: %v", err)
		return h.reply(engine.Deny(engine.CodeInternalError))
	}
	if panicHook != nil {
		panicHook(headers)
	}
	// The request and its decision live in the context, which is allocated anyway: as locals
	// they escaped to the heap (the engine keeps pointers into the request; a buffered body and
	// a global-limit call keep the decision), two more allocations per request in the VM.
	h.req = engine.Request{Headers: headers, Now: notBefore(h.plugin.now(), h.notBefore), Replay: sharedReplay{}}
	req := &h.req
	for _, kv := range headers {
		switch kv[0] {
		case ":method":
			req.Method = kv[1]
		case ":authority":
			req.Authority = kv[1]
		case ":path":
			req.Path = kv[1]
		case "x-request-id":
			h.requestID = kv[1]
		}
	}
	req.SourceFunc = sourceAddress // read only by routes with IP rules
	if h.engine.UsesCounters() {
		req.Counters, req.Owner, req.Limits = sharedCounters{}, h.plugin.limits.owner, &h.limits
	}
	h.decision = h.engine.Decide(req)
	d := &h.decision
	h.route = d.Route
	h.plugin.metrics.countLimits(d.Limits)
	if d.Limits != nil && len(d.Limits.Leases) > 0 {
		// Held from here until the stream ends, however it ends (OnHttpStreamDone).
		h.leases = d.Limits.Leases
		h.plugin.hold(h.leases)
	}
	if d.Local {
		return h.answer(*d)
	}
	if !d.Allow {
		return h.reply(*d)
	}
	h.reqEnded = endOfStream // for the body's judgement (forward)
	if d.Limits != nil && len(d.Limits.Global) > 0 {
		return h.countGlobal(d)
	}
	return h.forward(d)
}

// forward applies an allowed decision's request edits and lets the request continue.
func (h *httpContext) forward(d *engine.Decision) types.Action {
	if err := applyEdits(d); err != nil {
		proxywasm.LogErrorf("portcullis: editing request headers: %v", err)
		return h.reply(engine.Deny(engine.CodeInternalError))
	}
	h.maxBody, h.keyID, h.response = d.MaxBodyBytes, d.KeyID, d.Response
	if d.BufferBody {
		if h.reqEnded { // no body: judge the empty one now
			if v := h.engine.DecideBody(d, &h.req, nil); !v.Allow {
				return h.reply(v)
			}
			return types.ActionContinue
		}
		h.pending = d
	}
	return types.ActionContinue
}

// sourceAddress reads the source.address property. A failure returns "", which IP rules treat
// as an unknown client and refuse.
func sourceAddress() string {
	v, err := proxywasm.GetProperty([]string{"source", "address"})
	if err != nil {
		return ""
	}
	return string(v)
}

// OnHttpResponseHeaders applies the route's response header edits to the upstream's answer.
// One read of the header map, then one call per edit that changes something.
func (h *httpContext) OnHttpResponseHeaders(_ int, _ bool) (action types.Action) {
	defer h.recoverPanic("response headers", nil)
	if len(h.response) == 0 || h.denied {
		return types.ActionContinue
	}
	headers, err := proxywasm.GetHttpResponseHeaders()
	if err != nil {
		proxywasm.LogErrorf("portcullis: reading response headers: %v", err)
		return types.ActionContinue // the response exists already; its headers just lack ours
	}
	for _, ed := range h.response {
		current, present := "", false
		for _, kv := range headers {
			if kv[0] == ed.Name {
				current, present = kv[1], true
				break
			}
		}
		v, set, remove := engine.EditValue(ed, current, present)
		switch {
		case remove:
			err = proxywasm.RemoveHttpResponseHeader(ed.Name)
		case set && present:
			// Replace touches only the first value: remove every value, then add one.
			if err = proxywasm.RemoveHttpResponseHeader(ed.Name); err == nil {
				err = proxywasm.AddHttpResponseHeader(ed.Name, v)
			}
		case set:
			err = proxywasm.AddHttpResponseHeader(ed.Name, v)
		}
		if err != nil {
			proxywasm.LogErrorf("portcullis: editing response header %s: %v", ed.Name, err)
		}
	}
	return types.ActionContinue
}

// OnHttpRequestBody counts the streamed body: the declared content-length was checked with the
// headers, but a chunked or lying client is only caught here. On most routes the filter never
// buffers, so each call sees only the new chunk; on a route that verifies the body it holds
// every chunk (the host then reports the whole buffered size) and judges the body at its end,
// so none of it reaches the upstream unverified.
func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) (action types.Action) {
	defer h.recoverPanic("request body", &action)
	if h.denied {
		return types.ActionPause
	}
	if h.pending != nil {
		return h.bufferedBody(bodySize, endOfStream)
	}
	h.bodySeen += int64(bodySize)
	if h.bodySeen > h.maxBody {
		return h.reply(engine.Deny(engine.CodeBodyTooLarge))
	}
	return types.ActionContinue
}

func (h *httpContext) bufferedBody(bodySize int, endOfStream bool) types.Action {
	if int64(bodySize) > h.maxBody {
		return h.reply(engine.Deny(engine.CodeBodyTooLarge))
	}
	if !endOfStream {
		return types.ActionPause // keep buffering
	}
	var body []byte
	if bodySize > 0 {
		var err error
		if body, err = proxywasm.GetHttpRequestBody(0, bodySize); err != nil {
			proxywasm.LogErrorf("portcullis: reading the buffered body: %v", err)
			return h.reply(engine.Deny(engine.CodeInternalError))
		}
	}
	h.req.Now = h.plugin.now() // timestamps are judged when the whole body is in
	d := h.engine.DecideBody(h.pending, &h.req, body)
	h.pending = nil
	if !d.Allow {
		return h.reply(d)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	defer h.recoverPanic("stream done", nil)
	if h.leases != nil {
		h.plugin.release(h.leases)
		h.leases = nil
	}
	if h.denied || h.plugin.metrics == nil {
		return
	}
	h.plugin.metrics.allow(h.route)
	if h.keyID != "" && h.plugin.control != nil {
		h.plugin.usage.add(h.keyID, 1, h.req.Now) // the key's time of use: when the request arrived
	}
}

func applyEdits(d *engine.Decision) error {
	for _, name := range d.Remove {
		if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
			return err
		}
	}
	for _, kv := range d.Set {
		if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// reply sends a denial and stops the request. A failure to send is logged; the request stays
// paused either way, never continued.
func (h *httpContext) reply(d engine.Decision) types.Action {
	h.denied = true
	if err := proxywasm.SendHttpResponse(uint32(d.Status), d.Headers, d.Body, -1); err != nil {
		proxywasm.LogErrorf("portcullis: sending the %d reply: %v", d.Status, err)
	}
	route := d.Route
	if route == "" {
		route = h.route // a denial decided after the match (a body check) names the route
	}
	if route == "" {
		route = routeNone
	}
	h.plugin.metrics.deny(d.Code, route)
	keyID := d.KeyID
	if keyID == "" {
		keyID = h.keyID
	}
	proxywasm.LogInfo(denialLine(d.Status, d.Code, route, keyID, h.requestID, h.req.Method, h.req.Path))
	return types.ActionPause
}

// answer sends a non-error local reply (a CORS preflight) and stops the request there.
func (h *httpContext) answer(d engine.Decision) types.Action {
	h.denied = true // nothing more for this request: no allow counted, no response edits
	if err := proxywasm.SendHttpResponse(uint32(d.Status), d.Headers, d.Body, -1); err != nil {
		proxywasm.LogErrorf("portcullis: sending the %d reply: %v", d.Status, err)
	}
	h.plugin.metrics.answer(d.Route)
	return types.ActionPause
}

// recoverPanic turns a panic into a 500 for this request only, keeping the VM alive.
func (h *httpContext) recoverPanic(where string, action *types.Action) {
	r := recover()
	if r == nil {
		return
	}
	proxywasm.LogCriticalf("portcullis: recovered from a panic in %s: %v", where, r)
	if action != nil && !h.denied {
		*action = h.reply(engine.Deny(engine.CodeInternalError))
	} else if action != nil {
		*action = types.ActionPause
	}
}

// pathOnly drops the query and fragment, which may carry tokens, from a path before logging it.
func pathOnly(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '?' || p[i] == '#' {
			return p[:i]
		}
	}
	return p
}

// notBefore is the time a request is judged at: the filter's clock, but never earlier than the
// snapshot in force was issued. A filter whose clock is behind the control server's would
// otherwise take keys that had expired before the snapshot was even built for valid (fail
// open by the skew); a clock ahead only expires keys early.
func notBefore(now, issued time.Time) time.Time {
	if now.Before(issued) {
		return issued
	}
	return now
}
