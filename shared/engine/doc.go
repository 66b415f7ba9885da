// Package engine is the Portcullis decision engine: given a compiled policy and a view of one
// HTTP request, it decides to allow the request (with header edits for the upstream) or to deny
// it (with status, JSON body and headers).
//
// It has no proxy-wasm imports, so it is unit-tested, fuzzed and benchmarked natively, runs in
// the filter's Wasm VM unchanged, and serves the control server's dry-run evaluation.
//
// # Notes
//
// Compile does all the work that can be done once per policy (lower-casing, hash decoding,
// denial bodies, upstream header values); Decide only looks things up. Decide does not allocate
// on the deny paths and allocates only the removal list on the allow path when the client sent
// headers that must be stripped.
package engine
