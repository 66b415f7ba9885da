package engine

import "math/bits"

// sipHash128 is SipHash-2-4 with 128-bit output (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", and the 128-bit variant of the reference implementation) of msg under the
// 128-bit key k0‖k1 (each half little-endian). It is the keyed hash of the presented-key cache
// (keycache.go): a pseudorandom function of short inputs, built from 64-bit additions,
// rotations and XORs, which Go compiles to Wasm's native 64-bit instructions — an order of
// magnitude cheaper in the VM than SHA-256, whose 32-bit schedule Go's wasm port runs without
// assembly. The standard library has no keyed PRF that is both cryptographic and cheap here
// (hash/maphash is neither keyed in that sense nor collision-resistant), hence this one.
func sipHash128(k0, k1 uint64, msg string) [2]uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d ^ 0xee // the 128-bit variant's tweak
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	n := len(msg)
	for ; len(msg) >= 8; msg = msg[8:] {
		m := le64(msg)
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
	}
	// The last block: the remaining bytes, then the message length mod 256 in the top byte.
	last := uint64(n) << 56
	for i := len(msg) - 1; i >= 0; i-- {
		last |= uint64(msg[i]) << (8 * uint(i))
	}
	v3 ^= last
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= last

	v2 ^= 0xee
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	lo := v0 ^ v1 ^ v2 ^ v3
	v1 ^= 0xdd
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return [2]uint64{lo, v0 ^ v1 ^ v2 ^ v3}
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// le64 reads 8 bytes of s little-endian, without converting the string to a slice.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
