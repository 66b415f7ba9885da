// Package seal encrypts the control server's secrets at rest (webhook secrets, the snapshot
// signing key) with AES-256-GCM under one master key, which lives outside the database:
// PORTCULLIS_MASTER_KEY or a key file next to the data (see LoadKey).
//
// # Notes
//
// Every sealed value is bound to what it is (the additional data, e.g. "webhook/github/secret"),
// so a ciphertext copied into another row or column does not open there.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// KeySize is the master key's length: AES-256.
const KeySize = 32

// magic starts every sealed value, so a plaintext value left by an older version is told apart.
var magic = []byte("pcs1")

// ErrWrongKey means a sealed value does not open under this key: another master key sealed it,
// or the value was altered.
var ErrWrongKey = errors.New("the master key does not open this value (a different PORTCULLIS_MASTER_KEY or key file, or altered data)")

// Sealer seals and opens values under one master key.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, rand: rand.Reader}, nil
}

// Random returns a Sealer on a fresh key that exists only in this process: for tests and for
// tools that never reopen what they seal.
func Random() *Sealer {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	s, _ := New(key)
	return s
}

// Seal encrypts plain for the purpose named by ad: magic | nonce | ciphertext+tag.
func (s *Sealer) Seal(plain []byte, ad string) ([]byte, error) {
	out := make([]byte, len(magic), len(magic)+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	copy(out, magic)
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plain, []byte(ad)), nil
}

// Open decrypts a value Seal made for the same ad.
func (s *Sealer) Open(sealed []byte, ad string) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, errors.New("seal: not a sealed value")
	}
	rest := sealed[len(magic):]
	n := s.aead.NonceSize()
	if len(rest) < n+s.aead.Overhead() {
		return nil, ErrWrongKey
	}
	plain, err := s.aead.Open(nil, rest[:n], rest[n:], []byte(ad))
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// IsSealed reports whether b has the form Seal produces.
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, magic) }
