package snapshot

import (
	"crypto/ed25519"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifySignature is the one place where this package checks an Ed25519 signature. It accepts
// exactly what crypto/ed25519.Verify accepts (the differential test holds it to that) and is
// about twice as fast inside the filter's Wasm VM: curve25519-voi's field arithmetic uses
// 32-bit limbs on wasm, where the standard library's 64-bit limbs need bits.Mul64, which Wasm
// has no instruction for. The public key's decompressed point and lookup table are computed
// once per key (a filter verifies against one key for its whole life).
//
// # Notes
//
// Signing stays crypto/ed25519. The semantics are the standard library's (voi's
// VerifyOptionsStdLib): cofactorless equation, S must be canonical (< ℓ), R compared as the
// canonical encoding of [S]B - [k]A, small-order and non-canonical public keys accepted as
// crypto/ed25519 accepts them. len(pub) must be ed25519.PublicKeySize (verify checks).
func verifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	k := expandedKeys.get(pub)
	if k == nil { // not a point: crypto/ed25519 refuses every signature by it too
		return false
	}
	return voi.VerifyExpandedWithOptions(k, msg, sig, stdlibSemantics)
}

var stdlibSemantics = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// maxExpandedKeys bounds the cache: the filter holds one control key, tests a handful. Each
// entry is about 1.5 KiB.
const maxExpandedKeys = 8

// keyCache holds expanded public keys by their encoding. When full, a new key replaces an
// arbitrary one, so a caller cycling through many keys costs at most an expansion per verify.
type keyCache struct {
	mu   sync.Mutex
	keys map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey
}

var expandedKeys = &keyCache{keys: make(map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey)}

// get returns pub expanded, or nil if pub does not decode to a curve point (not cached: a
// bad key is refused at configuration and never reaches here in the filter).
func (c *keyCache) get(pub ed25519.PublicKey) *voi.ExpandedPublicKey {
	var id [ed25519.PublicKeySize]byte
	copy(id[:], pub)
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k, err := voi.NewExpandedPublicKey(voi.PublicKey(id[:]))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= maxExpandedKeys {
		for old := range c.keys {
			delete(c.keys, old)
			break
		}
	}
	c.keys[id] = k
	return k
}
