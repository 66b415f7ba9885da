package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// evaluation is the filter's decision for a described request, made by the same engine on the
// currently published snapshot.
type evaluation struct {
	SnapshotVersion uint64 `json:"snapshot_version"`
	Allow           bool   `json:"allow"`
	// Status, Code, Body and Headers describe the denial the filter would send.
	Status  int             `json:"status,omitempty"`
	Code    string          `json:"code,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	Headers [][2]string     `json:"headers,omitempty"`
	// Local is true for a non-error reply the filter sends itself (a CORS preflight answer),
	// described by Status and Headers.
	Local bool   `json:"local,omitempty"`
	Route string `json:"route"`
	KeyID string `json:"key_id"`
	// Check is the pipeline stage that decided.
	Check string `json:"check"`
	// For an allowed request: the body limit and the header edits before the upstream, and the
	// edits the filter makes to the upstream's response headers.
	MaxBodyBytes    int64          `json:"max_body_bytes,omitempty"`
	RemoveHeaders   []string       `json:"remove_headers,omitempty"`
	SetHeaders      [][2]string    `json:"set_headers,omitempty"`
	ResponseHeaders []responseEdit `json:"response_headers,omitempty"`
	// RateLimits are the rate limits the request counts against, with the state of its
	// buckets as a fresh bucket would read (the control server does not see the filters'
	// counters): the request's own token taken, or the refusal.
	RateLimits []rateLimitView `json:"rate_limits,omitempty"`
}

// rateLimitView is one rate limit of a dry run.
type rateLimitView struct {
	Name string `json:"name"`
	// Bucket is the hash of the identity the bucket is keyed by (never the identity itself).
	Bucket            string `json:"bucket"`
	Limit             int64  `json:"limit"`
	Rate              int64  `json:"rate"`
	Per               string `json:"per"`
	Remaining         int64  `json:"remaining"`
	ResetSeconds      int64  `json:"reset_seconds"`
	Refused           bool   `json:"refused,omitempty"`
	RetryAfterSeconds int64  `json:"retry_after_seconds,omitempty"`
	Global            bool   `json:"global,omitempty"`
}

// responseEdit is one response header edit: "add" (when the upstream did not set it), "set",
// "remove" or "vary" (a token added to the list).
type responseEdit struct {
	Action string `json:"action"`
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
}

var editActions = map[engine.EditMode]string{engine.EditAdd: "add", engine.EditSet: "set", engine.EditRemove: "remove", engine.EditVary: "vary"}

func (s *server) evaluate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decodeEvaluate(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cur := s.cfg.Publisher.Current()
	if cur == nil {
		s.fail(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", msg: "no snapshot has been built yet"})
		return
	}
	req.Now = s.cfg.Clock.Now()
	if !req.at.IsZero() {
		req.Now = req.at
	}
	// A dry run records nothing: replay protection judges it against an empty store of its own.
	req.Replay = engine.NewMemoryReplayStore()
	if cur.Engine.UsesCounters() {
		req.Counters = engine.NewMemoryCounters() // a fresh store: the state a new bucket reads
	}
	d := cur.Engine.Decide(&req.Request)
	if d.Allow && d.BufferBody {
		// The route verifies the body: judge the described one (empty when none was given).
		d = cur.Engine.DecideBody(&d, &req.Request, req.body)
	}
	out := evaluation{SnapshotVersion: cur.Version, Allow: d.Allow, Local: d.Local, Route: d.Route, KeyID: d.KeyID, Check: d.Stage.String()}
	if d.Allow {
		out.MaxBodyBytes, out.RemoveHeaders, out.SetHeaders = d.MaxBodyBytes, d.Remove, d.Set
		for _, ed := range d.Response {
			out.ResponseHeaders = append(out.ResponseHeaders, responseEdit{Action: editActions[ed.Mode], Name: ed.Name, Value: ed.Value})
		}
	} else {
		out.Status, out.Code, out.Headers = d.Status, d.Code, d.Headers
		if json.Valid(d.Body) {
			out.Body = d.Body
		}
	}
	if d.Limits != nil {
		for _, st := range d.Limits.States() {
			out.RateLimits = append(out.RateLimits, rateLimitView{Name: st.Name, Bucket: strconv.FormatUint(st.Bucket, 16),
				Limit: st.Limit, Rate: st.Rate, Per: st.Per, Remaining: st.Remaining, ResetSeconds: st.ResetSeconds,
				Refused: st.Refused, RetryAfterSeconds: st.RetryAfterSeconds, Global: st.Global})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeEvaluate reads {"method", "host", "path", "headers", "client_address", "origin", "body"
// or "body_base64", "at"}; a header's value is a string or, for a repeated header, an array of
// strings. "origin" is a shorthand for an Origin header; "client_address" is the connection's
// source address; "at" (RFC 3339) is the time to evaluate at, default now.
func decodeEvaluate(body []byte) (*evalRequest, error) {
	var (
		r   = strictjson.NewReader(body)
		out evalRequest
		req = &out.Request
	)
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		switch k {
		case "method":
			req.Method = r.String("", k)
		case "host":
			req.Authority = r.String("", k)
		case "path":
			req.Path = r.String("", k)
		case "client_address":
			req.Source = r.String("", k)
		case "body":
			out.body = []byte(r.String("", k))
		case "body_base64":
			b, err := base64.StdEncoding.DecodeString(r.String("", k))
			if err != nil {
				r.Errorf(k, "must be standard base64")
			}
			out.body = b
		case "at":
			out.at = r.Time("", k)
		case "origin":
			req.Headers = append(req.Headers, [2]string{"origin", r.String("", k)})
		case "headers":
			for h := range r.Object(k) {
				name := strings.ToLower(h)
				if r.Peek() == strictjson.Array {
					for _, val := range r.Strings(k, h) {
						req.Headers = append(req.Headers, [2]string{name, val})
					}
					continue
				}
				req.Headers = append(req.Headers, [2]string{name, r.String(k, h)})
			}
		default:
			r.Unknown("", k)
		}
	}
	if isObject && !r.Failed() && !r.Stopped() {
		if req.Method == "" {
			r.Errorf("method", "required, e.g. \"GET\"")
		}
		if req.Path == "" {
			r.Errorf("path", "required, e.g. \"/api/items?x=1\"")
		}
	}
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return &out, nil
}

// evalRequest is a described request: the engine's view of it, and the raw body and the time
// to evaluate at, so an operator can replay a failed webhook delivery, even an old one.
type evalRequest struct {
	engine.Request
	body []byte
	at   time.Time
}
