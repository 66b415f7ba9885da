package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Echo is the demo upstream: it answers every request with what it received as JSON, so a
// person trying the gateway sees which headers the filter added or removed.
func Echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		headers := map[string]string{"host": r.Host}
		for name, values := range r.Header {
			headers[strings.ToLower(name)] = strings.Join(values, ", ")
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Method  string            `json:"method"`
			Path    string            `json:"path"`
			Query   string            `json:"query"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body,omitempty"`
		}{r.Method, r.URL.Path, r.URL.RawQuery, headers, string(body)})
	})
}
