package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/metrics"
)

// securityHeaders are sent with every response: the API serves JSON to programs, never pages
// to browsers, so nothing may be sniffed, framed, cached or loaded.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a 500 for that request.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.fail(w, r, &apiError{status: http.StatusInternalServerError, code: "internal_error", msg: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type apiMetrics struct {
	requests    *metrics.CounterVec
	longPolls   *metrics.Gauge
	usage       *metrics.Counter
	usageBad    *metrics.Counter
	limited     *metrics.Counter
	authFailed  *metrics.Counter
	served      *metrics.Counter
	notModified *metrics.Counter
	deltas      *metrics.Counter
	// adminDuration is how long admin API requests take (snapshot polls, held open on purpose,
	// are not in it).
	adminDuration *metrics.Histogram
}

func newAPIMetrics(r *metrics.Registry) apiMetrics {
	return apiMetrics{
		requests:    r.CounterVec("portcullis_control_http_requests_total", "HTTP requests by method, route pattern and status.", "method", "route", "status"),
		longPolls:   r.Gauge("portcullis_control_snapshot_polls_waiting", "Snapshot polls being held open."),
		served:      r.Counter("portcullis_control_snapshot_polls_served_total", "Snapshot polls answered with a snapshot (200)."),
		notModified: r.Counter("portcullis_control_snapshot_polls_not_modified_total", "Snapshot polls answered 304."),
		deltas:      r.Counter("portcullis_control_snapshot_polls_delta_total", "Snapshot polls answered with a delta rather than the full snapshot."),
		usage:       r.Counter("portcullis_control_usage_entries_total", "Per-key usage entries received on polls."),
		usageBad:    r.Counter("portcullis_control_usage_rejected_total", "Usage reports dropped because they were malformed or could not be stored."),
		limited:     r.Counter("portcullis_control_rate_limited_total", "Requests refused with 429."),
		authFailed:  r.Counter("portcullis_control_auth_failures_total", "Requests with a missing, unknown or revoked token."),
		adminDuration: r.Histogram("portcullis_control_admin_request_duration_seconds",
			"Duration of admin API requests (every /v1 endpoint but the snapshot poll and the public key).", metrics.DurationBuckets),
	}
}

// instrument counts requests by route pattern (not raw path, so ids do not explode the label
// set) and logs them.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now() // a measurement, not a decision: the real clock even under a fake one
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r, c := withCaller(r)
		next.ServeHTTP(rec, r)
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern()
		}
		if route == "" {
			route = "unmatched"
		}
		s.m.requests.With(r.Method, route, strconv.Itoa(rec.status)).Inc()
		s.logRequest(r, route, rec.status, c, time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
