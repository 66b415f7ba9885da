package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// caller is filled in by authenticate for instrument, which runs outside it and so cannot
// see the principal authenticate puts in the inner request's context.
type caller struct{ tokenID string }

type callerKey struct{}

func withCaller(r *http.Request) (*http.Request, *caller) {
	c := &caller{}
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, c)), c
}

// noteCaller records the authenticated token's id (never the token) for the access log.
func noteCaller(ctx context.Context, tokenID string) {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		c.tokenID = tokenID
	}
}

// logRequest writes one line per API request: method, path (never the query), route, status,
// the admin token's id and the duration. Admin requests log at info; the filters' snapshot
// polls (every worker of every Envoy, held up to a minute) and the probes at debug.
func (s *server) logRequest(r *http.Request, route string, status int, c *caller, took time.Duration) {
	level := slog.LevelDebug
	if isAdminRoute(route) {
		level = slog.LevelInfo
		s.m.adminDuration.ObserveDuration(took)
	}
	s.cfg.Logger.LogAttrs(r.Context(), level, "api request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.String("token_id", c.tokenID),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000))
}

// isAdminRoute: the /v1 endpoints except the data plane's snapshot poll and the public key.
func isAdminRoute(route string) bool {
	return strings.HasPrefix(route, "/v1/") && !strings.HasPrefix(route, "/v1/snapshot") && route != "/v1/openapi.json"
}
