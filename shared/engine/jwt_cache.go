package engine

import (
	"hash/maphash"
	"sync"
)

// Bounds of the verification cache, per Engine (so per worker VM in the filter, and replaced
// with every snapshot).
const (
	CacheMaxTokens = 2048
	CacheMaxBytes  = 1 << 20 // token text kept for the equality check
)

// tokenCache remembers successful verifications so that a token seen again costs a hash, a
// map lookup and a string compare: no signature check, no JSON. It is keyed by a seeded hash of
// the whole token (maphash: in Wasm, SHA-256 of a 1 KiB token would cost more than the rest of
// the request) and every entry keeps the token itself, so a hash collision is a miss, never
// another token's identity. Expiry and revocation are checked on every hit by the caller.
//
// Eviction is first-in first-out: when the cache holds CacheMaxTokens tokens or
// CacheMaxBytes of token text, the oldest entry goes. A token's entry is not refreshed on use,
// so a busy client's token is re-verified at most once per CacheMaxTokens new tokens.
//
// The mutex makes the Engine safe for concurrent use natively (the control server's dry runs
// share one Engine); in Wasm there is one thread and the lock is uncontended.
type tokenCache struct {
	seed maphash.Seed

	mu    sync.Mutex
	m     map[uint64]*cacheEntry
	fifo  []*cacheEntry // insertion order; entries replaced since stay until popped
	bytes int
}

// cacheEntry is immutable once stored, so readers use it outside the lock.
type cacheEntry struct {
	key   uint64
	token string
	p     *jwtProvider
	verified
}

func newTokenCache() *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed(), m: make(map[uint64]*cacheEntry)}
}

// get returns the entry for tok verified by p, or nil.
func (c *tokenCache) get(p *jwtProvider, tok string) *cacheEntry {
	h := maphash.String(c.seed, tok)
	c.mu.Lock()
	e := c.m[h]
	c.mu.Unlock()
	if e == nil || e.p != p || e.token != tok {
		return nil
	}
	return e
}

// put stores a successful verification, evicting the oldest entries to stay in bounds.
func (c *tokenCache) put(p *jwtProvider, tok string, v verified) {
	if len(tok) > CacheMaxBytes {
		return
	}
	e := &cacheEntry{key: maphash.String(c.seed, tok), token: tok, p: p, verified: v}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[e.key]; old != nil {
		c.bytes -= len(old.token)
		delete(c.m, e.key)
	}
	for len(c.fifo) > 0 && (len(c.m) >= CacheMaxTokens || c.bytes+len(tok) > CacheMaxBytes) {
		c.evictOldest()
	}
	c.m[e.key] = e
	c.bytes += len(tok)
	c.fifo = append(c.fifo, e)
	if len(c.fifo) > 2*CacheMaxTokens { // drop replaced entries' leftovers
		live := c.fifo[:0]
		for _, x := range c.fifo {
			if c.m[x.key] == x {
				live = append(live, x)
			}
		}
		clear(c.fifo[len(live):])
		c.fifo = live
	}
}

func (c *tokenCache) evictOldest() {
	for len(c.fifo) > 0 {
		x := c.fifo[0]
		c.fifo[0] = nil
		c.fifo = c.fifo[1:]
		if c.m[x.key] == x {
			delete(c.m, x.key)
			c.bytes -= len(x.token)
			return
		}
	}
}

// len reports how many tokens the cache holds (for tests).
func (c *tokenCache) len() (tokens, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}
