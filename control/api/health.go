package api

import (
	"context"
	"net/http"
	"time"
)

// healthz says the process serves HTTP.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says the server can do its job: the store answers and a snapshot is published.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Admin.Store().Ping(ctx); err != nil {
		s.cfg.Logger.Warn("not ready: store unreachable", "err", err)
		s.fail(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", msg: "the store is unreachable"})
		return
	}
	cur := s.cfg.Publisher.Current()
	if cur == nil {
		s.fail(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", msg: "no snapshot has been built yet"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "snapshot_version": cur.Version})
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.cfg.Metrics.WriteTo(w)
}
