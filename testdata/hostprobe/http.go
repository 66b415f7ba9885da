package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
	id     uint32
	action string
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	h.plugin.requests.Increment(1)
	h.plugin.inflight.Add(1)
	h.action, _ = proxywasm.GetHttpRequestHeader("x-probe")
	switch h.action {
	case "panic":
		panic("probe: panic requested by x-probe")
	case "count":
		return h.count()
	case "cas":
		return h.reply(200, h.cas())
	case "headers":
		return h.headers()
	case "call", "call-continue":
		return h.call()
	case "local":
		_ = proxywasm.SendHttpResponse(403, [][2]string{{"x-local", "1"}, {"content-type", "text/plain"}}, []byte("denied"), -1)
		return types.ActionPause
	case "props":
		return h.reply(200, props())
	case "queue":
		q, err := proxywasm.ResolveSharedQueue("", queueName)
		if err == nil {
			err = proxywasm.EnqueueSharedQueue(q, []byte("item"))
		}
		if err != nil {
			return h.reply(500, "queue="+err.Error())
		}
	case "log":
		proxywasm.LogTrace("probe log trace")
		proxywasm.LogDebug("probe log debug")
		proxywasm.LogInfo("probe log info")
		proxywasm.LogWarn("probe log warn")
		proxywasm.LogError("probe log error")
		proxywasm.LogCritical("probe log critical")
	case "foreign":
		out, err := proxywasm.CallForeignFunction("echo", []byte("ping"))
		_, missing := proxywasm.CallForeignFunction("missing", nil)
		return h.reply(200, "echo="+string(out)+" err="+errName(err)+" missing="+errName(missing))
	case "now":
		return h.reply(200, time.Now().UTC().Format(time.RFC3339Nano))
	case "hold":
		return types.ActionPause // waits forever: the host's timeout or buffer limit ends it
	case "spin":
		for i := 0; ; i++ { // never returns: only the host's call timeout ends it
			if i < 0 {
				return types.ActionContinue
			}
		}
	}
	return types.ActionContinue
}

// count increments the shared counter with a bounded compare-and-swap loop and tells the
// upstream the value it wrote.
func (h *httpContext) count() types.Action {
	for i := 0; i < 10000; i++ {
		v, cas, err := proxywasm.GetSharedData(counterKey)
		if err != nil {
			return h.reply(500, "get="+errName(err))
		}
		n, _ := strconv.Atoi(string(v))
		next := strconv.Itoa(n + 1)
		switch err := proxywasm.SetSharedData(counterKey, []byte(next), cas); err {
		case nil:
			_ = proxywasm.ReplaceHttpRequestHeader("x-probe-count", next)
			return types.ActionContinue
		case types.ErrorStatusCasMismatch:
			h.plugin.casRetries.Increment(1)
		default:
			return h.reply(500, "set="+errName(err))
		}
	}
	return h.reply(500, "cas retries exhausted")
}

// cas walks through the compare-and-swap rules and reports each status.
func (h *httpContext) cas() string {
	key := "probe_cas_" + h.header("x-probe-key")
	var b strings.Builder
	step := func(name string, err error) { b.WriteString(name + "=" + errName(err) + " ") }
	step("set", proxywasm.SetSharedData(key, []byte("a"), 0))
	_, cas, err := proxywasm.GetSharedData(key)
	step("get", err)
	step("wrong", proxywasm.SetSharedData(key, []byte("b"), cas+1))
	step("right", proxywasm.SetSharedData(key, []byte("c"), cas))
	step("stale", proxywasm.SetSharedData(key, []byte("d"), cas))
	step("zero", proxywasm.SetSharedData(key, []byte("e"), 0))
	v, _, _ := proxywasm.GetSharedData(key)
	_, _, missing := proxywasm.GetSharedData("probe_missing_key")
	b.WriteString("value=" + string(v) + " ")
	step("missing", missing)
	return strings.TrimSpace(b.String())
}

// headers reads the way filters read (first value, all pairs) and edits the request.
func (h *httpContext) headers() types.Action {
	first, err := proxywasm.GetHttpRequestHeader("x-dup")
	if err != nil {
		first = "err:" + errName(err)
	}
	all, _ := proxywasm.GetHttpRequestHeaders()
	var dup []string
	for _, kv := range all {
		if kv[0] == "x-dup" {
			dup = append(dup, kv[1])
		}
	}
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	_, missing := proxywasm.GetHttpRequestHeader("x-missing")
	edits := []error{
		proxywasm.ReplaceHttpRequestHeader("x-first", first),
		proxywasm.ReplaceHttpRequestHeader("x-all", strings.Join(dup, "|")),
		proxywasm.ReplaceHttpRequestHeader("x-path", path),
		proxywasm.ReplaceHttpRequestHeader("x-missing-status", errName(missing)),
		proxywasm.AddHttpRequestHeader("X-Added", "1"),
		proxywasm.ReplaceHttpRequestHeader("x-replace", "new"),
		proxywasm.RemoveHttpRequestHeader("x-remove"),
	}
	for _, err := range edits {
		if err != nil {
			return h.reply(500, "edit="+errName(err))
		}
	}
	return types.ActionContinue
}

// call dispatches an http_call and pauses; the callback answers locally ("call") or resumes
// the request with the result in a header ("call-continue").
func (h *httpContext) call() types.Action {
	cluster := h.header("x-probe-cluster")
	path := h.header("x-probe-path")
	if path == "" {
		path = "/"
	}
	timeout, _ := strconv.Atoi(h.header("x-probe-timeout"))
	headers := [][2]string{{":method", "GET"}, {":path", path}, {":authority", "probe.internal"}, {"x-from", "probe"}}
	if h.header("x-probe-no-path") != "" {
		headers = headers[:1]
	}
	_, err := proxywasm.DispatchHttpCall(cluster, headers, nil, nil, uint32(timeout), h.onCallResponse)
	if err != nil {
		return h.reply(200, "dispatch="+errName(err))
	}
	return types.ActionPause
}

func (h *httpContext) onCallResponse(numHeaders, bodySize, numTrailers int) {
	status := ""
	if headers, err := proxywasm.GetHttpCallResponseHeaders(); err == nil {
		for _, kv := range headers {
			if kv[0] == ":status" {
				status = kv[1]
			}
		}
	}
	var body []byte
	if bodySize > 0 {
		body, _ = proxywasm.GetHttpCallResponseBody(0, bodySize)
	}
	result := "headers=" + strconv.Itoa(numHeaders) + " status=" + status + " body=" + string(body) +
		" trailers=" + strconv.Itoa(numTrailers)
	if h.action == "call-continue" {
		_ = proxywasm.ReplaceHttpRequestHeader("x-call-result", result)
		_ = proxywasm.ResumeHttpRequest()
		return
	}
	h.reply(200, result)
}

func (h *httpContext) OnHttpRequestBody(size int, eos bool) types.Action {
	if eos {
		h.plugin.bodyBytes.Record(uint64(size))
	}
	if h.action != "buffer" && h.action != "hmac" {
		return types.ActionContinue
	}
	if !eos {
		return types.ActionPause // StopIterationAndBuffer: the next call sees the whole body
	}
	body, _ := proxywasm.GetHttpRequestBody(0, size)
	if h.action == "hmac" { // the webhook benchmark's baseline: one copy in, a bare HMAC, continue
		m := hmac.New(sha256.New, hmacKey)
		m.Write(body)
		h.plugin.hmacSink = m.Sum(h.plugin.hmacSink[:0])
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestBody([]byte("len=" + strconv.Itoa(size) + ":" + string(body))); err != nil {
		return h.reply(500, "replace="+errName(err))
	}
	return types.ActionContinue
}

// OnHttpResponseHeaders marks every response it sees, local replies included (Envoy runs a
// local reply through the filter's response callbacks).
func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	_ = proxywasm.AddHttpResponseHeader("x-probe-response", "seen")
	if h.responseMode() == "hold" {
		return types.ActionPause
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseBody(size int, eos bool) types.Action {
	if h.responseMode() == "buffer" && !eos {
		return types.ActionPause
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	h.plugin.done.Increment(1)
	h.plugin.inflight.Add(-1)
}

// reply sends a local response and pauses, the way a filter must.
func (h *httpContext) reply(status uint32, body string) types.Action {
	if err := proxywasm.SendHttpResponse(status, [][2]string{{"content-type", "text/plain"}}, []byte(body), -1); err != nil {
		proxywasm.LogErrorf("probe: local response: %v", err)
	}
	return types.ActionPause
}

func (h *httpContext) header(name string) string {
	v, _ := proxywasm.GetHttpRequestHeader(name)
	return v
}

// responseMode is what the request's action asks of the response callbacks.
func (h *httpContext) responseMode() string {
	switch h.action {
	case "respbuffer":
		return "buffer"
	case "resphold":
		return "hold"
	}
	return ""
}

func errName(err error) string {
	switch err {
	case nil:
		return "ok"
	case types.ErrorStatusNotFound:
		return "not_found"
	case types.ErrorStatusBadArgument:
		return "bad_argument"
	case types.ErrorStatusCasMismatch:
		return "cas_mismatch"
	case types.ErrorStatusEmpty:
		return "empty"
	case types.ErrorInternalFailure:
		return "internal_failure"
	case types.ErrorUnimplemented:
		return "unimplemented"
	}
	return err.Error()
}

// hmacKey keys the "hmac" action's bare HMAC (a benchmark baseline, not a secret).
var hmacKey = []byte("bench-webhook-secret-0001")
