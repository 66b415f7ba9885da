// Package gateway is a local HTTP gateway that puts a proxy-wasm filter, run in-process by
// e2e/wasmhost, in front of an upstream: what Envoy with envoy.filters.http.wasm does, without
// Envoy.
//
// Each request runs through the host as Envoy would run it through the filter: request headers
// (pseudo-headers from the incoming request), the request body chunk by chunk, then the
// upstream's response headers and body. An allowed request goes to the upstream through
// net/http/httputil.ReverseProxy with the headers as the filter left them; a local response is
// written directly. One access-log line per request.
//
// # Notes
//
//   - While the filter holds a request at its headers (for example waiting for an http_call),
//     the gateway stops reading the body, as Envoy's watermarks do; a request held longer than
//     Config.StreamTimeout gets 408, Envoy's stream idle timeout reply.
//   - A local response decided while the upstream response is already being written resets
//     the connection, as in Envoy.
//   - Trailers and protocol upgrades are not passed through the filter.
package gateway
