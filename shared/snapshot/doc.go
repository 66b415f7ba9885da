// Package snapshot is the signed snapshot contract between the control server and the filter:
// the payload format, its Ed25519 signature, and the headers of the poll protocol.
//
// A snapshot payload is the JSON object
//
//	{"version": N, "issued_at": "RFC 3339", "policy": {<policy document v1 without keys>}}
//
// where N is a positive, monotonically increasing version, followed — when the policy has
// keys — by a line feed and the keys as a binary key table (shared/keytable), so that the
// filter copies a million keys instead of parsing them. The signature covers both. A payload
// may instead list keys in policy.keys (the JSON form, as older servers wrote it), never both. The signature is Ed25519 over
// Domain followed by the payload bytes, base64 (standard encoding), carried in the
// SignatureHeader response header. The signed version inside the payload is authoritative;
// VersionHeader is informational.
//
// The control server calls Encode and Sign; the filter calls Open, which checks the answer's
// freshness statement — one Ed25519 signature that also names the body's SHA-256 — before
// DecodeCompact, so the parser only ever sees bytes the control server signed.
//
// # Notes
//
// The package uses the standard library, shared/*, and curve25519-voi's curve arithmetic for
// verifying signatures (verifySignature: the standard library's rules, faster in Wasm), and
// builds for wasip1: Decode runs
// inside the filter's Wasm VM, so it uses strictjson rather than reflection-based encoding/json,
// and Encode writes JSON by hand so that encoding/json is not linked into the module at all.
// Unknown fields are errors on decode: a snapshot that the filter cannot fully understand is
// rejected, and the last good one stays in force.
package snapshot
