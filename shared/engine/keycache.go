package engine

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// keyCacheSlots is the size of the presented-key cache per Engine (so per worker VM and per
// snapshot): a direct-mapped table, 8 KiB of pointers plus 32 bytes per entry in use.
const keyCacheSlots = 1024

// keyCache remembers which compiled key a recently presented API key authenticated as, so that
// a key seen again costs a SipHash-2-4 (keyed by a random per-Engine key) and one table slot
// instead of a SHA-256 — in Wasm the SHA-256 of a presented key was a third of the engine's
// allow path. The security argument is in the README's design notes ("The presented-key
// cache"); in short:
//
//   - No raw key is kept: an entry is the 128-bit tag SipHash_k(presented key) and a pointer
//     to the compiled key, which holds only the key's SHA-256 (as the policy does anyway). The
//     tag reveals no more about the key than that SHA-256 does, and k never leaves the VM.
//   - Only keys that a SHA-256 lookup found are stored, so unknown keys cannot fill it, and a
//     hit is the key a SHA-256 lookup found earlier.
//   - Another string hits an entry only if its tag equals the stored one: SipHash is a PRF, so
//     without k that is one chance in 2^128 per attempt.
//   - Activity and expiry are not cached: the caller checks them on every request.
//   - The cache belongs to one Engine, and a new snapshot compiles a new Engine: a revoked or
//     deleted key leaves with the snapshot that drops it. A delta that changes keys in place
//     (Engine.Apply) empties the cache before the next request, so a revoked, suspended or
//     re-scoped key is never served from it.
//
// The table is direct-mapped (a tag's slot is its low bits; a newer key replaces an older one
// in its slot), which in Wasm costs a fraction of a Go map lookup. Slots hold immutable entries
// behind atomic pointers, so the Engine stays safe for concurrent use natively without a lock.
type keyCache struct {
	k0, k1 uint64
	slots  [keyCacheSlots]atomic.Pointer[keyEntry]
}

type keyEntry struct {
	tag [2]uint64
	k   *key
}

func newKeyCache() *keyCache {
	var k [16]byte
	rand.Read(k[:]) // never fails (crypto/rand crashes the program instead)
	return &keyCache{k0: binary.LittleEndian.Uint64(k[:8]), k1: binary.LittleEndian.Uint64(k[8:])}
}

// find returns the compiled key of e that secret authenticates as, or nil. A key the cache
// does not know is looked up by its SHA-256 (Engine.keyByHash).
func (c *keyCache) find(e *Engine, secret string) *key {
	tag := sipHash128(c.k0, c.k1, secret)
	slot := &c.slots[tag[0]%keyCacheSlots]
	if ent := slot.Load(); ent != nil && (ent.tag[0]^tag[0])|(ent.tag[1]^tag[1]) == 0 {
		return ent.k
	}
	k := e.keyByHash(secret)
	if k != nil { // unknown keys are never stored
		slot.Store(&keyEntry{tag: tag, k: k})
	}
	return k
}

// reset empties the cache: the keys it points to may have been replaced or removed (Apply).
func (c *keyCache) reset() {
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
}

// len is the number of entries in use, for tests.
func (c *keyCache) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
