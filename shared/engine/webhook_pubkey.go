package engine

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// Public-key presets: the provider signs with its private key and the verifier holds only the
// public key (in `secret`, and the next one in `next_secret`), so a leaked policy cannot forge
// a delivery.

// discord: X-Signature-Ed25519 (hex Ed25519 signature) over X-Signature-Timestamp + body; the
// key is the application's public key in hex.
var discordScheme = &scheme{
	sigHeaders: []string{"x-signature-ed25519"},
	parseKey: func(s string) (any, error) {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("not a hex Ed25519 public key")
		}
		return ed25519.PublicKey(b), nil
	},
	verify: func(v *verifier, d *delivery) Code {
		ts, ok := headerValue(d.headers, "x-signature-timestamp")
		if !ok {
			return CodeSignatureMissing
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		sig, err := hex.DecodeString(trimSpace(d.sig))
		if err != nil || len(sig) != ed25519.SignatureSize {
			return CodeSignatureMalformed
		}
		// Ed25519 needs the message in one piece; the timestamp is a few bytes, but the body
		// is copied once here (ed25519ph would not match what Discord signs).
		msg := make([]byte, 0, len(ts)+len(d.body))
		msg = append(append(msg, ts...), d.body...)
		for _, k := range v.keys {
			if ed25519.Verify(k.(ed25519.PublicKey), msg, sig) {
				// Strict verification rejects non-canonical signatures, so the signature
				// itself names the delivery.
				d.print = sig
				return ""
			}
		}
		return CodeSignatureMismatch
	},
}

// p256SPKIPrefix is the DER SubjectPublicKeyInfo header of an uncompressed P-256 key (id-ecPublicKey,
// prime256v1, BIT STRING of 66 bytes): SendGrid's verification key is this plus the point,
// base64-encoded. Parsing the fixed form keeps crypto/x509 out of the filter.
var p256SPKIPrefix = []byte{0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00}

// sendgrid: X-Twilio-Email-Event-Webhook-Signature (base64 DER ECDSA P-256 signature) over
// SHA-256(X-Twilio-Email-Event-Webhook-Timestamp + body).
var sendgridScheme = &scheme{
	sigHeaders: []string{"x-twilio-email-event-webhook-signature"},
	parseKey: func(s string) (any, error) {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !bytes.HasPrefix(der, p256SPKIPrefix) {
			return nil, errors.New("not a base64 P-256 public key")
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), der[len(p256SPKIPrefix):])
	},
	verify: func(v *verifier, d *delivery) Code {
		ts, ok := headerValue(d.headers, "x-twilio-email-event-webhook-timestamp")
		if !ok {
			return CodeSignatureMissing
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(trimSpace(d.sig))
		if err != nil {
			return CodeSignatureMalformed
		}
		h := sha256.New()
		h.Write([]byte(ts))
		h.Write(d.body)
		digest := h.Sum(nil)
		for _, k := range v.keys {
			if ecdsa.VerifyASN1(k.(*ecdsa.PublicKey), digest, sig) {
				// ECDSA signatures are malleable (s and n−s both verify): the signed
				// content's digest names the delivery, not the signature.
				d.print = digest
				return ""
			}
		}
		return CodeSignatureMismatch
	},
}
