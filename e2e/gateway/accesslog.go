package gateway

import (
	"log/slog"
	"net/http"
	"time"
)

// recorder remembers the status written, for the access log and to know whether the response
// started.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets ReverseProxy stream; Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request. The path is logged without its query, which may carry
// credentials; status 0 means the connection was reset.
func (g *Gateway) accessLog(r *http.Request, status, vm int, d time.Duration) {
	g.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.EscapedPath()),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("vm", vm),
	)
}
