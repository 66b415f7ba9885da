package api_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/api"
)

// Every route is documented in openapi.json, and every documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	r := e.do("GET", "/v1/openapi.json", "", nil)
	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &spec); err != nil || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %v (version %q)", err, spec.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "patch", "delete":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	routed := map[string]bool{}
	router := api.New(api.Config{Admin: e.svc, Publisher: e.pub})
	err := chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, extra []string
	for op := range routed {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !routed[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v\ndocumented but not routed: %v", missing, extra)
	}
	if len(routed) < 20 {
		t.Fatalf("walked only %d routes", len(routed))
	}
}

// TestOpenAPIServers: the served document's servers entry is the address it was fetched from
// (scheme and host of the request), not a fixed one; a Host that is not a host name falls back
// to the relative "/" (the document's own server).
func TestOpenAPIServers(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	router := api.New(api.Config{Admin: e.svc, Publisher: e.pub})
	for _, tc := range []struct {
		host string
		tls  bool
		want string
	}{
		{"control.example:9443", false, "http://control.example:9443"},
		{"control.example", true, "https://control.example"},
		{"[::1]:8081", false, "http://[::1]:8081"},
		{`evil"host`, false, "/"},
		{"", false, "/"},
	} {
		req := httptest.NewRequest("GET", "/v1/openapi.json", nil)
		req.Host = tc.host
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		router.ServeHTTP(w, req)
		var spec struct {
			Servers []struct{ URL string } `json:"servers"`
			Paths   map[string]any         `json:"paths"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &spec); err != nil || w.Code != 200 {
			t.Fatalf("%q: %d %v", tc.host, w.Code, err)
		}
		if len(spec.Servers) != 1 || spec.Servers[0].URL != tc.want || len(spec.Paths) < 10 {
			t.Errorf("Host %q (TLS %v): servers %+v, want %q", tc.host, tc.tls, spec.Servers, tc.want)
		}
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
			t.Errorf("Content-Length %s for %d bytes", cl, w.Body.Len())
		}
	}
}
