package engine

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
)

// The cache stays within its bounds and evicts the oldest entry first.
func TestTokenCacheBounds(t *testing.T) {
	p, other := &jwtProvider{name: "p"}, &jwtProvider{name: "q"}
	tests := []struct {
		name          string
		n, size       int
		wantTokens    int
		oldestEvicted bool
	}{
		{"under the bounds", 100, 300, 100, false},
		{"token count bound", CacheMaxTokens + 500, 100, CacheMaxTokens, true},
		{"byte bound", 400, 4096, CacheMaxBytes / 4096, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTokenCache()
			tok := func(i int) string { return fmt.Sprintf("%08d", i) + strings.Repeat("x", tt.size-8) }
			for i := range tt.n {
				c.put(p, tok(i), verified{jti: fmt.Sprint(i)})
			}
			n, b := c.len()
			if n != tt.wantTokens || b > CacheMaxBytes || b != n*tt.size {
				t.Fatalf("holds %d tokens, %d bytes; want %d tokens within %d bytes", n, b, tt.wantTokens, CacheMaxBytes)
			}
			if got := c.get(p, tok(0)) == nil; got != tt.oldestEvicted {
				t.Fatalf("oldest evicted = %v, want %v", got, tt.oldestEvicted)
			}
			if c.get(p, tok(tt.n-1)) == nil {
				t.Fatal("the newest token is missing")
			}
			if c.get(other, tok(tt.n-1)) != nil {
				t.Fatal("a token verified for one provider is a hit for another")
			}
		})
	}
}

// Re-verifying a token (after it expired from the cache, say) replaces its entry without
// leaking bytes, and the insertion list stays bounded.
func TestTokenCacheReplace(t *testing.T) {
	c := newTokenCache()
	p := &jwtProvider{}
	for i := range 10 * CacheMaxTokens {
		c.put(p, "same-token", verified{jti: fmt.Sprint(i)})
	}
	n, b := c.len()
	if n != 1 || b != len("same-token") || len(c.fifo) > 2*CacheMaxTokens+1 {
		t.Fatalf("tokens %d, bytes %d, fifo %d", n, b, len(c.fifo))
	}
	if e := c.get(p, "same-token"); e == nil || e.jti != fmt.Sprint(10*CacheMaxTokens-1) {
		t.Fatalf("entry %+v, want the last one", e)
	}
}

// A hit needs the same token and the same provider: an entry found under a colliding hash, or
// one verified by another provider, is a miss, never that entry's identity.
func TestTokenCacheHitNeedsTokenAndProvider(t *testing.T) {
	c := newTokenCache()
	p, other := &jwtProvider{name: "p"}, &jwtProvider{name: "other"}
	alice := verified{id: &Identity{Method: "jwt", UserID: "alice"}}
	c.put(p, "token-a", alice)
	if e := c.get(p, "token-a"); e == nil || e.id.UserID != "alice" {
		t.Fatalf("the stored token is not a hit: %+v", e)
	}
	if e := c.get(other, "token-a"); e != nil {
		t.Fatalf("a token verified by provider p is a hit for provider other: %+v", e.id)
	}
	// Force a collision: token-b's hash now leads to token-a's entry.
	c.m[maphash.String(c.seed, "token-b")] = c.m[maphash.String(c.seed, "token-a")]
	if e := c.get(p, "token-b"); e != nil {
		t.Fatalf("a colliding token got the entry's identity: %+v", e.id)
	}
}
