package engine

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"math/big"
)

// verifySignature checks a JWS signature over signing (header.payload) with the standard
// library: HMAC compared in constant time, RSASSA-PKCS1-v1_5, RSASSA-PSS with the salt as long
// as the hash (RFC 7518 §3.5), ECDSA with the fixed-length r || s encoding (r or s zero is
// refused by crypto/ecdsa), Ed25519. key has been checked to fit alg (JWK.Fits); a key of
// another Go type refuses.
func verifySignature(alg string, key any, signing string, sig []byte) bool {
	var h crypto.Hash
	switch alg {
	case "HS256", "RS256", "PS256", "ES256":
		h = crypto.SHA256
	case "HS384", "RS384", "PS384", "ES384":
		h = crypto.SHA384
	case "HS512", "RS512", "PS512":
		h = crypto.SHA512
	case "EdDSA":
		pub, ok := key.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(signing), sig)
	default:
		return false
	}
	switch alg[0] {
	case 'H':
		secret, ok := key.([]byte)
		if !ok {
			return false
		}
		m := hmac.New(h.New, secret)
		m.Write([]byte(signing))
		return hmac.Equal(m.Sum(nil), sig)
	}
	d := h.New()
	d.Write([]byte(signing))
	digest := d.Sum(nil)
	switch alg[0] {
	case 'R':
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
	case 'P':
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
	case 'E':
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}
