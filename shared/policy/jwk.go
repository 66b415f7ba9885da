package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Algorithms lists every JWS algorithm a provider may pin.
var Algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}

// Key size floors.
const (
	MinHMACSecretBytes = 32
	MinRSABits         = 2048
)

// PublicKey decodes the key into the form the JWT library verifies with: []byte for oct,
// *rsa.PublicKey, *ecdsa.PublicKey (the point checked to be on the curve) or ed25519.PublicKey.
func (j *JWK) PublicKey() (any, error) {
	switch j.Kty {
	case "oct":
		k, err := b64("k", j.K)
		if err != nil {
			return nil, err
		}
		if len(k) < MinHMACSecretBytes {
			return nil, fmt.Errorf("k: an HMAC secret must be at least %d bytes, this one is %d", MinHMACSecretBytes, len(k))
		}
		return k, nil
	case "RSA":
		n, err := b64("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", j.E)
		if err != nil {
			return nil, err
		}
		if len(n) == 0 || n[0] == 0 || new(big.Int).SetBytes(n).BitLen() < MinRSABits {
			return nil, fmt.Errorf("n: an RSA modulus must be at least %d bits without leading zeros", MinRSABits)
		}
		if len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return nil, errors.New("e: must be a public exponent of 1 to 4 bytes")
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("e: must be an odd public exponent of at least 3")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, errors.New(`crv: must be "P-256" or "P-384" for kty EC`)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("x, y: must be %d bytes each for %s", size, j.Crv)
		}
		point := append(append([]byte{4}, x...), y...)
		k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, errors.New("x, y: not a point on the curve")
		}
		return k, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, errors.New(`crv: must be "Ed25519" for kty OKP`)
		}
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("x: an Ed25519 key is %d bytes", ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New(`kty: must be "RSA", "EC", "OKP" or "oct"`)
}

// Fits reports whether the key may verify tokens signed with alg: the key type and curve must
// be the algorithm's, and a key that names its alg is used with that one only.
func (j *JWK) Fits(alg string) bool {
	if j.Alg != "" && j.Alg != alg {
		return false
	}
	switch {
	case strings.HasPrefix(alg, "HS"):
		return j.Kty == "oct"
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		return j.Kty == "RSA"
	case alg == "ES256":
		return j.Kty == "EC" && j.Crv == "P-256"
	case alg == "ES384":
		return j.Kty == "EC" && j.Crv == "P-384"
	case alg == "EdDSA":
		return j.Kty == "OKP" && j.Crv == "Ed25519"
	}
	return false
}

// b64 decodes base64url without padding, strictly (no padding, no line breaks, canonical).
func b64(field, s string) ([]byte, error) {
	if strings.ContainsAny(s, "=\r\n") {
		return nil, fmt.Errorf("%s: must be base64url without padding", field)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: must be base64url without padding", field)
	}
	return b, nil
}
