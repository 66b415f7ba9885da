// Package policy defines the Portcullis policy document (version 1): the routes the filter
// protects, how each is authenticated and limited, and the API keys it accepts. The same types
// are produced by the control server and enforced by the filter, so this package is the contract
// between them.
//
// Parse is strict: unknown fields, wrong types and inconsistent values are errors that name the
// JSON path (`routes[2].limits.max_body_bytes: must be positive`). A parsed Document has every
// default filled in and every host, method and hash normalized, so the engine compiles it
// without re-checking anything.
//
// # Notes
//
// The package uses only the standard library and builds for wasip1, because it runs inside the
// filter's Wasm VM.
package policy
