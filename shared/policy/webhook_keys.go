package policy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/hex"
	"net/url"
)

// p256KeyPrefix is the DER header of an uncompressed P-256 SubjectPublicKeyInfo, the form of
// SendGrid's verification key (the engine parses the point itself).
var p256KeyPrefix = []byte{0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00}

// publicKeyProblem checks the form of a public-key preset's key (ok false for other presets).
// A public key is not a secret, but the message still does not echo it.
func publicKeyProblem(preset, s string) (msg string, ok bool) {
	switch preset {
	case "discord":
		if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
			return "must be the application's Ed25519 public key: 64 hex digits", true
		}
		return "", true
	case "sendgrid":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != len(p256KeyPrefix)+65 || !bytes.HasPrefix(b, p256KeyPrefix) {
			return "must be the verification key: the base64 of a P-256 public key (MFkw…)", true
		}
		// A point off the curve would pass the form check and fail only when compiled.
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b[len(p256KeyPrefix):]); err != nil {
			return "must be the verification key: its point is not on the P-256 curve", true
		}
		return "", true
	}
	return "", false
}

// webhookURLProblem requires the signed URL of URL-signing presets: an absolute http(s) URL,
// exactly as configured at the provider.
func webhookURLProblem(w *Webhook) string {
	if w.Preset != "twilio" && w.Preset != "square" && w.Preset != "qstash" {
		return ""
	}
	u, err := url.Parse(w.URL)
	if w.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || hasControl(w.URL) {
		return "required with this preset: the absolute http(s) URL the provider delivers to, exactly as configured there"
	}
	return ""
}
