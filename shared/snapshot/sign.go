package snapshot

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
)

// Verification errors. Callers branch on them with errors.Is; every one means "reject this
// snapshot and keep the last good one".
var (
	ErrNoSignature        = errors.New("snapshot has no signature")
	ErrMalformedSignature = errors.New("snapshot signature is not base64 of 64 bytes")
	ErrBadSignature       = errors.New("snapshot signature does not verify")
	ErrBadPublicKey       = errors.New("public key is not a base64 Ed25519 public key (32 bytes)")
)

// Sign signs Domain followed by payload and returns the signature in base64 standard encoding.
//
// # Notes
//
// Like ed25519.Sign, Sign panics if priv is not ed25519.PrivateKeySize bytes long; the control
// server loads its key once at start-up and checks its length there.
func Sign(priv ed25519.PrivateKey, payload []byte) string { return sign(Domain, priv, payload) }

func sign(domain string, priv ed25519.PrivateKey, payload []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, message(domain, payload)))
}

// Verify checks sig (base64 standard encoding, as sent in SignatureHeader) over Domain followed
// by payload. It never panics, whatever its arguments.
func Verify(pub ed25519.PublicKey, payload []byte, sig string) error {
	return verify(Domain, pub, payload, sig)
}

// verify checks sig over domain followed by payload: each signed thing (snapshot, delta,
// freshness statement) has its own domain, so no signature verifies as another kind.
func verify(domain string, pub ed25519.PublicKey, payload []byte, sig string) error {
	if len(pub) != ed25519.PublicKeySize {
		return ErrBadPublicKey
	}
	if sig == "" {
		return ErrNoSignature
	}
	var raw [ed25519.SignatureSize + 2]byte // room to detect an over-long signature
	if base64.StdEncoding.DecodedLen(len(sig)) > len(raw) {
		return ErrMalformedSignature
	}
	n, err := base64.StdEncoding.Decode(raw[:], []byte(sig))
	if err != nil || n != ed25519.SignatureSize {
		return ErrMalformedSignature
	}
	if !verifySignature(pub, message(domain, payload), raw[:n]) {
		return ErrBadSignature
	}
	return nil
}

func message(domain string, payload []byte) []byte {
	m := make([]byte, 0, len(domain)+len(payload))
	m = append(m, domain...)
	return append(m, payload...)
}

// ParsePublicKey decodes a base64 (standard encoding) Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: got %d characters", ErrBadPublicKey, len(s))
	}
	return ed25519.PublicKey(b), nil
}

// FormatPublicKey is the inverse of ParsePublicKey.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}
