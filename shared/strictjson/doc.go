// Package strictjson decodes JSON in one pass, straight into Go values, with path-qualified
// errors such as `routes[2].limits.max_body_bytes: must be positive`.
//
// It exists because policies and snapshots are decoded inside the Wasm VM, where
// reflection-based encoding/json and allocation-heavy value trees are many times slower than
// native, and because operators deserve errors that name the exact field. The Reader builds no
// tree and no path strings unless it reports an error; unescaped strings are substrings of one
// copy of the input.
//
// # Notes
//
// Duplicate object keys and unknown fields are errors (an ambiguous security policy must not be
// accepted); inside a skipped value, which nothing decodes, only the syntax is checked. Nesting is limited to MaxDepth levels so hostile input cannot exhaust the stack.
package strictjson
