package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// methods are the methods the API routes, in the order Allow lists them.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods routes has for the request's path, for the Allow header of a 405
// (RFC 9110 15.5.6). chi computes the same list but does not hand it to a custom 405 handler.
func allowed(routes chi.Routes, r *http.Request) string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var out []string
	for _, m := range methods {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}
