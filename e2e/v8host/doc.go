// Package v8host runs a compiled proxy-wasm module on V8, the engine Envoy runs Wasm on, through
// Node.js: host.mjs (beside this file, embedded in the package) is a small proxy-wasm host in
// JavaScript that reproduces the semantics of e2e/wasmhost — the start sequence, header maps,
// buffers, local replies run through the response callbacks, shared data, metrics, properties,
// fail-closed 503 after a trap — on one VM, with the WASI subset Envoy provides.
//
// Run sends a list of exchanges (a request and, when the filter lets it through, the upstream's
// response) through the module in one Node.js process and returns what the upstream and the
// client saw, so a test can hold the outcome against the wazero host's for the same exchange.
// Any difference is a V8/wazero divergence in what the Go toolchain emits, or a host bug.
//
// # Notes
//
// Node.js 18 or later must be on PATH (Debian: apt-get install nodejs); FindNode says so when it
// is not. The host has no http_call clusters (every dispatch is BadArgument), does not fire
// ticks, and does not model trailers.
package v8host
