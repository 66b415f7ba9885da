package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
)

//go:embed openapi.json
var openAPI []byte

// serversURL is the servers entry openapi.json is written with; the served document names the
// address it was fetched from instead, so tools pointed at it call this server.
var serversURL = []byte(`"url": "http://localhost:8081"`)

func (s *server) openapi(w http.ResponseWriter, r *http.Request) {
	url, _ := json.Marshal(serverURL(r))
	doc := bytes.Replace(openAPI, serversURL, append([]byte(`"url": `), url...), 1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.Write(doc)
}

// serverURL is the scheme and host the request came to, or "/" (relative to the document,
// which OpenAPI allows) when the Host header is not a plain host[:port]. The scheme is https
// when this server terminated TLS; a proxy in front that terminates TLS is not believed from
// its headers.
func serverURL(r *http.Request) string {
	if !plainHost(r.Host) {
		return "/"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func plainHost(h string) bool {
	if h == "" || len(h) > 261 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
