// Package auth generates and checks the control server's secrets: API keys, admin tokens and
// data-plane tokens. Secrets are random, prefixed by kind, shown once, and stored only as their
// SHA-256.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Secret prefixes tell a leaked secret's kind at a glance (and let secret scanners find them).
const (
	KeyPrefix       = "pcs_" // API keys the filter accepts
	AdminPrefix     = "pca_" // admin API tokens
	DataplanePrefix = "pcd_" // data-plane (snapshot polling) tokens
)

// SecretBytes is the entropy of a generated secret: 192 bits.
const SecretBytes = 24

// MaskedLen is how many leading characters of a secret are stored and shown.
const MaskedLen = 8

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSecret returns prefix followed by SecretBytes random bytes from r in lower-case base32
// (39 characters), e.g. "pcs_k3…".
func NewSecret(r io.Reader, prefix string) (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return prefix + encoding.EncodeToString(b), nil
}

// NewID returns a public identifier: prefix followed by 80 random bits in base32. IDs are not
// secrets; they name objects in URLs, the audit log and the upstream's x-portcullis-key-id.
func NewID(r io.Reader, prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return prefix + encoding.EncodeToString(b), nil
}

// Hash is the lower-case hex SHA-256 of a secret: what the store and the snapshot hold.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Prefix returns the first MaskedLen characters of a secret, which are stored to recognize it.
func Prefix(secret string) string {
	if len(secret) <= MaskedLen {
		return secret
	}
	return secret[:MaskedLen]
}

// Mask shows a stored prefix as "pcs_abcd***".
func Mask(prefix string) string { return prefix + "***" }

// BearerToken extracts the token of an "Authorization: Bearer <token>" header value (scheme
// case-insensitive). ok is false for a missing header or another scheme.
func BearerToken(h string) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}
