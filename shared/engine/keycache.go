package engine

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
)

// keyCacheMax bounds the presented-key cache per Engine (so per worker VM and per snapshot):
// about 50 KiB at most. When it is full it starts again empty.
const keyCacheMax = 1024

// keyCache remembers which compiled key a recently presented API key authenticated as, so that
// a key seen again costs a SipHash-2-4 (keyed by a random per-Engine key) and a map lookup
// instead of a SHA-256 — in Wasm the SHA-256 of a 40-byte key was a third of the engine's
// allow path. The security argument is in the README's design notes ("The presented-key
// cache"); in short:
//
//   - No raw key is kept: an entry is the 128-bit tag SipHash_k(presented key) and a pointer
//     to the compiled key, which holds only the key's SHA-256 (as the policy does anyway). The
//     tag reveals no more about the key than that SHA-256 does, and k never leaves the VM.
//   - Only keys that authenticated are stored (found by their SHA-256, as without the cache),
//     so unknown keys cannot fill it, and a hit is the key a SHA-256 lookup found earlier.
//   - Another string hits an entry only if its tag equals a stored one: SipHash is a PRF, so
//     without k that is one chance in 2^128 per cached key per attempt.
//   - Activity and expiry are not cached: the caller checks them on every request.
//   - The cache belongs to one Engine, and a new snapshot compiles a new Engine: a revoked or
//     deleted key leaves with the snapshot that drops it.
//
// The mutex makes the Engine safe for concurrent use natively; in Wasm it is uncontended.
type keyCache struct {
	k0, k1 uint64

	mu sync.Mutex
	m  map[[2]uint64]*key
}

func newKeyCache() *keyCache {
	var k [16]byte
	rand.Read(k[:]) // never fails (crypto/rand crashes the program instead)
	return &keyCache{
		k0: binary.LittleEndian.Uint64(k[:8]),
		k1: binary.LittleEndian.Uint64(k[8:]),
		m:  make(map[[2]uint64]*key),
	}
}

// find returns the compiled key of e that secret authenticates as, or nil. A key the cache
// does not know is looked up by its SHA-256 (Engine.keyByHash).
func (c *keyCache) find(e *Engine, secret string) *key {
	tag := sipHash128(c.k0, c.k1, secret)
	c.mu.Lock()
	k := c.m[tag]
	c.mu.Unlock()
	if k != nil {
		return k
	}
	if k = e.keyByHash(secret); k == nil {
		return nil // unknown keys are never stored
	}
	c.mu.Lock()
	if len(c.m) >= keyCacheMax {
		clear(c.m)
	}
	c.m[tag] = k
	c.mu.Unlock()
	return k
}
