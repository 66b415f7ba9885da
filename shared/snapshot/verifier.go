package snapshot

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// verifySignature is the one place where this package checks an Ed25519 signature. It accepts
// exactly what crypto/ed25519.Verify accepts — the differential test holds it to that — and
// costs the filter's Wasm VM about 40% less: the public key never changes in a filter's life,
// so its multiples are tabulated once (fixed-base tables, as for the base point) and
// [S]B − [k]A takes about 130 point additions instead of about 250 doublings and 70
// additions; the field arithmetic is curve25519-voi's, whose 32-bit limbs suit Wasm, which
// has no 64×64→128-bit multiply for the standard library's 64-bit limbs.
//
// # Notes
//
// The rules are crypto/ed25519's (RFC 8032 with its choices): S must be below the group order
// ℓ; A is decoded as the standard library decodes it (non-canonical y and small-order points
// accepted); k = SHA-512(R ‖ A ‖ M) over the bytes as sent; the signature holds when the
// canonical encoding of [S]B − [k]A equals R byte for byte (the cofactorless equation, so a
// non-canonical R never verifies). Signing stays crypto/ed25519. The lookups run in constant
// time, which verification does not need; a variable-time table walk would be faster still,
// but curve25519-voi does not offer one and the point arithmetic is not worth owning.
func verifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize || sig[63]&0xe0 != 0 {
		return false
	}
	s, err := scalar.NewFromCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	negA := keyTables.get(pub)
	if negA == nil { // not a point: crypto/ed25519 refuses every signature by it too
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(pub)
	h.Write(msg)
	var digest [sha512.Size]byte
	k, err := scalar.NewFromBytesModOrderWide(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	var r, ka curve.EdwardsPoint
	r.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, s)
	r.Add(&r, ka.MulBasepoint(negA, k))
	var enc curve.CompressedEdwardsY
	enc.SetEdwardsPoint(&r)
	return subtle.ConstantTimeCompare(enc[:], sig[:32]) == 1
}

// maxKeyTables bounds the cache: the filter holds one control key, tests a handful. Each
// table is about 30 KiB.
const maxKeyTables = 8

// tableCache holds the table of −A for each public key A by its encoding. When full, a new
// key replaces an arbitrary one, so a caller cycling through many keys costs at most a table
// build per verification (about as much as five verifications).
type tableCache struct {
	mu     sync.Mutex
	tables map[[ed25519.PublicKeySize]byte]*curve.EdwardsBasepointTable
}

var keyTables = &tableCache{tables: make(map[[ed25519.PublicKeySize]byte]*curve.EdwardsBasepointTable)}

// get returns the table of −A for pub, or nil if pub does not decode to a curve point (not
// cached: a bad key is refused at configuration and never reaches here in the filter).
func (c *tableCache) get(pub ed25519.PublicKey) *curve.EdwardsBasepointTable {
	var id [ed25519.PublicKeySize]byte
	copy(id[:], pub)
	c.mu.Lock()
	t, ok := c.tables[id]
	c.mu.Unlock()
	if ok {
		return t
	}
	if t = negatedTable(id); t == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tables) >= maxKeyTables {
		for old := range c.tables {
			delete(c.tables, old)
			break
		}
	}
	c.tables[id] = t
	return t
}

// negatedTable decodes the public key pub (as crypto/ed25519 does) and tabulates the multiples
// of its negation, or returns nil if pub is not a point.
func negatedTable(pub [ed25519.PublicKeySize]byte) *curve.EdwardsBasepointTable {
	var enc curve.CompressedEdwardsY = pub
	var a curve.EdwardsPoint
	if _, err := a.SetCompressedY(&enc); err != nil {
		return nil
	}
	return curve.NewEdwardsBasepointTable(a.Neg(&a))
}
