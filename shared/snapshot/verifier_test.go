package snapshot

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// sigCase is one (public key, message, signature) triple for the differential test.
type sigCase struct {
	name          string
	pub, msg, sig []byte
}

// TestVerifySignatureMatchesStdlib holds verifySignature to crypto/ed25519.Verify's answer on
// valid signatures, on every one-bit mutation class, and on the edge cases where Ed25519
// implementations disagree (small-order and mixed-order keys, small-order R, non-canonical
// encodings of A and R, S not reduced). Each group also states how many of its cases the
// standard library accepts, so that a group that stopped exercising acceptance fails.
func TestVerifySignatureMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	groups := []struct {
		name  string
		cases []sigCase
		// wantAccepted: -1 means "some but not all"; otherwise the exact count.
		wantAccepted int
	}{
		{"rfc8032", rfc8032Cases(t), 3},
		{"random valid", randomValid(rng, 64), 64},
		{"mutated signature bit", mutate(rng, randomValid(rng, 24), 1), 0},
		{"mutated message bit", mutate(rng, randomValid(rng, 24), 2), 0},
		{"mutated public key bit", mutate(rng, randomValid(rng, 24), 0), 0},
		{"S + l (not reduced)", sPlusOrder(randomValid(rng, 16)), 0},
		{"S with high bits set", sHighBits(randomValid(rng, 8)), 0},
		{"truncated or long signature", badLengths(randomValid(rng, 2)), 0},
		{"small-order public keys", smallOrderKeys(rng), -1},
		{"mixed-order public keys", mixedOrderKeys(rng, 64), -1},
		{"small-order R", smallOrderR(rng), -1},
		{"non-canonical R", nonCanonicalR(rng), 0},
		{"public key not on the curve", offCurveKeys(rng), 0},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			accepted := 0
			for _, c := range g.cases {
				want := ed25519.Verify(c.pub, c.msg, c.sig)
				if got := verifySignature(c.pub, c.msg, c.sig); got != want {
					t.Errorf("%s: verifySignature = %v, crypto/ed25519 = %v (pub %x sig %x msg %x)",
						c.name, got, want, c.pub, c.sig, c.msg)
				}
				if want {
					accepted++
				}
			}
			switch {
			case g.wantAccepted >= 0 && accepted != g.wantAccepted:
				t.Errorf("crypto/ed25519 accepted %d of %d cases, the group expects %d", accepted, len(g.cases), g.wantAccepted)
			case g.wantAccepted < 0 && (accepted == 0 || accepted == len(g.cases)):
				t.Errorf("crypto/ed25519 accepted %d of %d cases; the group must hold both outcomes", accepted, len(g.cases))
			}
		})
	}
}

// TestKeyCacheBounded verifies with more distinct keys than the cache holds, twice over, and
// checks that every answer is still right and the cache never grows past its bound.
func TestKeyCacheBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := randomValid(rng, 3*maxKeyTables)
	for round := 0; round < 2; round++ {
		for i, c := range cases {
			if !verifySignature(c.pub, c.msg, c.sig) {
				t.Fatalf("round %d, key %d: valid signature refused", round, i)
			}
			other := cases[(i+1)%len(cases)]
			if verifySignature(other.pub, c.msg, c.sig) {
				t.Fatalf("round %d, key %d: signature accepted under another key", round, i)
			}
			keyTables.mu.Lock()
			n := len(keyTables.tables)
			keyTables.mu.Unlock()
			if n > maxKeyTables {
				t.Fatalf("cache holds %d keys, bound is %d", n, maxKeyTables)
			}
		}
	}
}

// rfc8032Cases are the first three test vectors of RFC 8032 section 7.1, checked against the
// standard library's key derivation and signing before use.
func rfc8032Cases(t *testing.T) []sigCase {
	vectors := []struct{ seed, pub, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	var out []sigCase
	for i, v := range vectors {
		seed, pub, msg, sig := unhex(t, v.seed), unhex(t, v.pub), unhex(t, v.msg), unhex(t, v.sig)
		priv := ed25519.NewKeyFromSeed(seed)
		if got := priv.Public().(ed25519.PublicKey); !got.Equal(ed25519.PublicKey(pub)) {
			t.Fatalf("vector %d: public key %x, RFC says %x", i+1, got, pub)
		}
		if got := ed25519.Sign(priv, msg); hex.EncodeToString(got) != v.sig {
			t.Fatalf("vector %d: signature %x, RFC says %s", i+1, got, v.sig)
		}
		out = append(out, sigCase{fmt.Sprintf("RFC 8032 test %d", i+1), pub, msg, sig})
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func randomValid(rng *rand.Rand, n int) []sigCase {
	out := make([]sigCase, n)
	for i := range out {
		priv := ed25519.NewKeyFromSeed(randomBytes(rng, ed25519.SeedSize))
		msg := randomBytes(rng, rng.IntN(400))
		out[i] = sigCase{fmt.Sprintf("valid %d", i), priv.Public().(ed25519.PublicKey), msg, ed25519.Sign(priv, msg)}
	}
	return out
}

// mutate flips one random bit of the public key (part 0), the signature (1) or the message (2)
// of each case (an empty message gets a byte instead).
func mutate(rng *rand.Rand, cases []sigCase, part int) []sigCase {
	for i := range cases {
		c := &cases[i]
		c.pub, c.msg, c.sig = clone(c.pub), clone(c.msg), clone(c.sig)
		b := [][]byte{c.pub, c.sig, c.msg}[part]
		if len(b) == 0 {
			c.msg = []byte{0}
			continue
		}
		b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
		c.name += " mutated"
	}
	return cases
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// order is ℓ, the prime order of the base point.
var order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// fieldPrime is 2^255 - 19.
var fieldPrime = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

func leToInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func intToLE(x *big.Int) []byte {
	out := make([]byte, 32)
	be := x.FillBytes(make([]byte, 32))
	for i := range be {
		out[31-i] = be[i]
	}
	return out
}

// sPlusOrder replaces S by S + ℓ: the same value mod ℓ, which RFC 8032 and Go refuse.
func sPlusOrder(cases []sigCase) []sigCase {
	for i := range cases {
		c := &cases[i]
		c.sig = clone(c.sig)
		copy(c.sig[32:], intToLE(new(big.Int).Add(leToInt(c.sig[32:]), order)))
		c.name += " S+l"
	}
	return cases
}

// sHighBits sets each of the top three bits of S in turn.
func sHighBits(cases []sigCase) []sigCase {
	var out []sigCase
	for _, c := range cases {
		for bit := 5; bit < 8; bit++ {
			sig := clone(c.sig)
			sig[63] |= 1 << bit
			out = append(out, sigCase{fmt.Sprintf("%s S bit %d", c.name, 248+bit), c.pub, c.msg, sig})
		}
	}
	return out
}

func badLengths(cases []sigCase) []sigCase {
	var out []sigCase
	for _, c := range cases {
		out = append(out,
			sigCase{c.name + " short", c.pub, c.msg, c.sig[:63]},
			sigCase{c.name + " long", c.pub, c.msg, append(clone(c.sig), 0)},
			sigCase{c.name + " empty", c.pub, c.msg, nil})
	}
	return out
}

func encode(p *curve.EdwardsPoint) []byte {
	var c curve.CompressedEdwardsY
	c.SetEdwardsPoint(p)
	return c[:]
}

// encodings returns the encodings of a point with canonical y: the canonical one, the one with
// the sign bit flipped (a different point, or x = 0 encoded as "negative zero"), and, when y <
// 19, y + p with either sign bit (non-canonical encodings of the same y).
func encodings(canonical []byte) [][]byte {
	flipped := clone(canonical)
	flipped[31] ^= 0x80
	out := [][]byte{canonical, flipped}
	y := leToInt(append(clone(canonical[:31]), canonical[31]&0x7f))
	if y.Cmp(big.NewInt(19)) < 0 {
		nc := intToLE(new(big.Int).Add(y, fieldPrime))
		nc[31] |= canonical[31] & 0x80
		ncFlipped := clone(nc)
		ncFlipped[31] ^= 0x80
		out = append(out, nc, ncFlipped)
	}
	return out
}

func randomScalar(rng *rand.Rand) *scalar.Scalar {
	s, err := scalar.NewFromBytesModOrderWide(randomBytes(rng, 64))
	if err != nil {
		panic(err)
	}
	return s
}

func scalarBytes(s *scalar.Scalar) []byte {
	b := make([]byte, 32)
	if err := s.ToBytes(b); err != nil {
		panic(err)
	}
	return b
}

// challenge is k = SHA-512(R || A || M) mod ℓ.
func challenge(r, pub, msg []byte) *scalar.Scalar {
	h := sha512.New()
	h.Write(r)
	h.Write(pub)
	h.Write(msg)
	k, err := scalar.NewFromBytesModOrderWide(h.Sum(nil))
	if err != nil {
		panic(err)
	}
	return k
}

func basepointMul(s *scalar.Scalar) *curve.EdwardsPoint {
	return new(curve.EdwardsPoint).MulBasepoint(curve.ED25519_BASEPOINT_TABLE, s)
}

// smallOrderKeys uses each 8-torsion point as the public key, in every encoding, with R =
// [S]B + T for random S and each torsion point T: the cofactorless equation holds exactly when
// [k]A = -T, so some of these verify under crypto/ed25519 and most do not.
func smallOrderKeys(rng *rand.Rand) []sigCase {
	var out []sigCase
	for ai, a := range curve.EIGHT_TORSION {
		for ei, pub := range encodings(encode(a)) {
			for trial := 0; trial < 4; trial++ {
				s := randomScalar(rng)
				for ti, tp := range curve.EIGHT_TORSION {
					r := encode(new(curve.EdwardsPoint).Add(basepointMul(s), tp))
					msg := randomBytes(rng, 16)
					out = append(out, sigCase{fmt.Sprintf("A=T%d enc %d, R=[S]B+T%d", ai, ei, ti),
						pub, msg, append(r, scalarBytes(s)...)})
				}
			}
		}
	}
	return out
}

// mixedOrderKeys: A = [a]B + T with T of order 8, signed honestly with a. The cofactorless
// equation holds only when [k]T is the identity (k ≡ 0 mod 8), so about one in eight verifies;
// a cofactored verifier would accept them all.
func mixedOrderKeys(rng *rand.Rand, n int) []sigCase {
	var out []sigCase
	for i := 0; i < n; i++ {
		a := randomScalar(rng)
		pub := encode(new(curve.EdwardsPoint).Add(basepointMul(a), curve.EIGHT_TORSION[1+i%7]))
		r := randomScalar(rng)
		rEnc := encode(basepointMul(r))
		msg := randomBytes(rng, 32)
		s := new(scalar.Scalar).Add(r, new(scalar.Scalar).Mul(challenge(rEnc, pub, msg), a))
		out = append(out, sigCase{fmt.Sprintf("mixed-order %d", i), pub, msg, append(rEnc, scalarBytes(s)...)})
	}
	return out
}

// smallOrderR: an ordinary key, R a torsion point in each encoding, S = k·a, so that [S]B -
// [k]A is the identity: only R = the identity, canonically encoded, verifies.
func smallOrderR(rng *rand.Rand) []sigCase {
	var out []sigCase
	for i := 0; i < 4; i++ {
		a := randomScalar(rng)
		pub := encode(basepointMul(a))
		for ti, tp := range curve.EIGHT_TORSION {
			for ei, r := range encodings(encode(tp)) {
				msg := randomBytes(rng, 8)
				s := new(scalar.Scalar).Mul(challenge(r, pub, msg), a)
				out = append(out, sigCase{fmt.Sprintf("R=T%d enc %d", ti, ei), pub, msg, append(clone(r), scalarBytes(s)...)})
			}
		}
	}
	return out
}

// nonCanonicalR: signatures that would verify with R = the identity, R written as a
// non-canonical encoding of it (y = p + 1, and x = 0 with the sign bit set).
func nonCanonicalR(rng *rand.Rand) []sigCase {
	var out []sigCase
	identity := encode(new(curve.EdwardsPoint).Identity())
	for i := 0; i < 4; i++ {
		a := randomScalar(rng)
		pub := encode(basepointMul(a))
		for ei, r := range encodings(identity)[1:] {
			msg := randomBytes(rng, 8)
			s := new(scalar.Scalar).Mul(challenge(r, pub, msg), a)
			out = append(out, sigCase{fmt.Sprintf("R=identity enc %d", ei+1), pub, msg, append(clone(r), scalarBytes(s)...)})
		}
	}
	return out
}

// offCurveKeys: random 32-byte strings that do not decode to a point (about half of all
// strings), each with an otherwise well-formed signature.
func offCurveKeys(rng *rand.Rand) []sigCase {
	var out []sigCase
	for len(out) < 16 {
		pub := randomBytes(rng, 32)
		var c curve.CompressedEdwardsY
		copy(c[:], pub)
		if _, err := new(curve.EdwardsPoint).SetCompressedY(&c); err == nil {
			continue
		}
		s := randomScalar(rng)
		out = append(out, sigCase{"off-curve key", pub, []byte("m"), append(encode(basepointMul(s)), scalarBytes(s)...)})
	}
	return out
}

// FuzzVerifySignature: on any public key, message and signature, verifySignature answers as
// crypto/ed25519.Verify does. Seeded with a valid signature, a small-order key that verifies
// and a mixed-order key, so that mutations start from accepted inputs.
func FuzzVerifySignature(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	seeds := randomValid(rng, 1)
	for _, c := range smallOrderKeys(rng) {
		if ed25519.Verify(c.pub, c.msg, c.sig) {
			seeds = append(seeds, c)
			break
		}
	}
	seeds = append(seeds, mixedOrderKeys(rng, 1)...)
	for _, c := range seeds {
		f.Add(c.pub, c.msg, c.sig)
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519 panics; verify refuses such keys before the check
		}
		if got, want := verifySignature(pub, msg, sig), ed25519.Verify(pub, msg, sig); got != want {
			t.Fatalf("verifySignature = %v, crypto/ed25519 = %v (pub %x sig %x msg %x)", got, want, pub, sig, msg)
		}
	})
}
