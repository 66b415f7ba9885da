package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// hopByHop headers belong to one connection and are never forwarded upstream. The filter still
// sees them, so they count against its header limits: what is counted is what the client sent.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"upgrade": true, "te": true, "trailer": true,
}

// requestPairs presents the request as Envoy presents it to a filter: :method, :scheme,
// :authority and :path first, then every header the client sent with lower-case names (sorted,
// since Go does not keep their order), and an x-request-id generated when missing.
func requestPairs(r *http.Request) [][2]string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.RequestURI
	if !strings.HasPrefix(path, "/") { // absolute-form or authority-form request target
		path = r.URL.RequestURI()
	}
	pairs := make([][2]string, 0, 5+len(r.Header))
	pairs = append(pairs, [2]string{":method", r.Method}, [2]string{":scheme", scheme},
		[2]string{":authority", r.Host}, [2]string{":path", path})
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lower := strings.ToLower(name)
		for _, v := range r.Header[name] {
			pairs = append(pairs, [2]string{lower, v})
		}
	}
	if r.Header.Get("X-Request-Id") == "" {
		pairs = append(pairs, [2]string{"x-request-id", requestID()})
	}
	return pairs
}

// codecRejects returns why the request must be refused before any filter runs, or "". These
// are refusals of Envoy's own codec and connection manager with the shipped envoy.yaml:
//   - a '#' in the request target: a target never carries a fragment, and a filter that cut
//     the path there would judge a different path than the upstream serves;
//   - a header name with '_', unless allowed (headers_with_underscores_action: REJECT_REQUEST).
func (g *Gateway) codecRejects(r *http.Request) string {
	if strings.IndexByte(r.RequestURI, '#') >= 0 {
		return "fragment in the request target"
	}
	if !g.underscores {
		for name := range r.Header {
			if strings.IndexByte(name, '_') >= 0 {
				return "header name with an underscore"
			}
		}
	}
	return ""
}

// requestID returns a random version 4 UUID, the form of Envoy's generated request ids.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// streamInfo describes the connection for the source.* and destination.* properties.
func streamInfo(r *http.Request) wasmhost.StreamInfo {
	info := wasmhost.StreamInfo{Protocol: r.Proto}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		info.Source = ap
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			info.Destination = ap
		}
	}
	if id, ok := r.Context().Value(connIDKey{}).(uint64); ok {
		info.ConnectionID = id
	}
	return info
}

// rewrite builds the upstream request from the headers as the filter left them: its method,
// path and authority from the pseudo-headers, every other header as is, plus X-Forwarded-*.
func (ex *exchange) rewrite(pr *httputil.ProxyRequest, upstream *url.URL) {
	out := pr.Out
	out.Header = http.Header{}
	path, authority := "/", ex.r.Host
	for _, kv := range ex.headers {
		switch kv[0] {
		case ":method":
			out.Method = kv[1]
		case ":path":
			path = kv[1]
		case ":authority":
			authority = kv[1]
		default:
			if !strings.HasPrefix(kv[0], ":") && !hopByHop[kv[0]] {
				out.Header.Add(kv[0], kv[1])
			}
		}
	}
	pr.SetURL(upstream)
	// The upstream receives the path exactly as the filter released it: the request line is
	// the upstream's base path followed by :path verbatim, never Go's re-encoding of a decoded
	// copy (which could differ from what the filter judged).
	rawPath, rawQuery, hasQuery := strings.Cut(path, "?")
	base := strings.TrimSuffix(upstream.EscapedPath(), "/")
	out.URL.Path, out.URL.RawPath = "", ""
	out.URL.Opaque = base + rawPath
	out.URL.RawQuery, out.URL.ForceQuery = rawQuery, hasQuery && rawQuery == ""
	out.Host = authority
	if out.Body != nil && out.Body != http.NoBody {
		// The filter may have changed the body; trust its content-length, else stream it.
		out.ContentLength = -1
		if n, err := strconv.ParseInt(out.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
			out.ContentLength = n
		}
		out.Header.Del("Content-Length")
	}
	pr.SetXForwarded()
}
