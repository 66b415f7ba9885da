package engine_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// SendGrid's published example: the official Go SDK's test (sendgrid-go,
// helpers/eventwebhook/eventwebhook_test.go) verifies this signature, made with this key's
// private half at this timestamp, over the JSON encoding of
// {"category":"example_payload","event":"test_event","message_id":"message_id"}.
const (
	sendgridKey  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sendgridSig  = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
	sendgridTS   = "1588788367"
	sendgridBody = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
)

func hookPolicy(preset, secret, next, extra string) string {
	n := ""
	if next != "" {
		n = fmt.Sprintf(`,"next_secret":%q`, next)
	}
	return fmt.Sprintf(`{"version":1,"webhooks":[{"name":"w","preset":%q,"secret":%q%s%s}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, preset, secret, n, extra)
}

// Discord publishes no signed example (its SDK, discord-interactions-js, tests with a key pair
// it generates), so these deliveries are signed here with fixed keys, exactly as Discord
// signs: Ed25519 over X-Signature-Timestamp + body, hex.
func TestDiscordPreset(t *testing.T) {
	cur := ed25519.NewKeyFromSeed(make([]byte, 32))
	nextSeed := make([]byte, 32)
	nextSeed[0] = 1
	next := ed25519.NewKeyFromSeed(nextSeed)
	nextSeed[0] = 2
	other := ed25519.NewKeyFromSeed(nextSeed)
	pub := func(k ed25519.PrivateKey) string { return hex.EncodeToString(k.Public().(ed25519.PublicKey)) }
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"type":1,"id":"ping"}`
	sign := func(k ed25519.PrivateKey, ts, body string) [][2]string {
		return [][2]string{{"x-signature-ed25519", hex.EncodeToString(ed25519.Sign(k, []byte(ts+body)))}, {"x-signature-timestamp", ts}}
	}
	tests := []struct {
		name    string
		headers [][2]string
		body    string
		at      time.Time
		want    string
	}{
		{"signed with the current key", sign(cur, ts, body), body, now, ""},
		{"signed with the next key", sign(next, ts, body), body, now, ""},
		{"tampered body", sign(cur, ts, body), body + " ", now, "signature_mismatch"},
		{"tampered timestamp", [][2]string{sign(cur, ts, body)[0], {"x-signature-timestamp", strconv.FormatInt(now.Unix()+1, 10)}}, body, now, "signature_mismatch"},
		{"signed with another key", sign(other, ts, body), body, now, "signature_mismatch"},
		{"stale", sign(cur, ts, body), body, now.Add(301 * time.Second), "timestamp_out_of_window"},
		{"no timestamp", sign(cur, ts, body)[:1], body, now, "signature_missing"},
		{"signature not hex", [][2]string{{"x-signature-ed25519", "zz"}, {"x-signature-timestamp", ts}}, body, now, "signature_malformed"},
		{"signature too short", [][2]string{{"x-signature-ed25519", "abcd"}, {"x-signature-timestamp", ts}}, body, now, "signature_malformed"},
	}
	e := compile(t, hookPolicy("discord", pub(cur), pub(next), ""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := deliver(e, nil, tt.headers, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}

func TestSendGridPreset(t *testing.T) {
	at := time.Unix(1588788367+60, 0)
	own, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&own.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ownKey := base64.StdEncoding.EncodeToString(der)
	hs := func(sig, ts string) [][2]string {
		return [][2]string{{"x-twilio-email-event-webhook-signature", sig}, {"x-twilio-email-event-webhook-timestamp", ts}}
	}
	ownSig := func(ts, body string) string {
		sum := sha256.Sum256([]byte(ts + body))
		sig, err := ecdsa.SignASN1(rand.Reader, own, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	tests := []struct {
		name, key, next string
		headers         [][2]string
		body            string
		at              time.Time
		want            string
	}{
		{"SendGrid SDK example", sendgridKey, "", hs(sendgridSig, sendgridTS), sendgridBody, at, ""},
		{"SDK example under the next key", ownKey, sendgridKey, hs(sendgridSig, sendgridTS), sendgridBody, at, ""},
		{"SDK example, tampered body", sendgridKey, "", hs(sendgridSig, sendgridTS), `{"event":"test_event"}`, at, "signature_mismatch"},
		{"SDK example, tampered timestamp", sendgridKey, "", hs(sendgridSig, "1588788368"), sendgridBody, at, "signature_mismatch"},
		{"SDK example an hour later", sendgridKey, "", hs(sendgridSig, sendgridTS), sendgridBody, at.Add(time.Hour), "timestamp_out_of_window"},
		{"signed by another key", sendgridKey, "", hs(ownSig(sendgridTS, sendgridBody), sendgridTS), sendgridBody, at, "signature_mismatch"},
		{"signature not base64", sendgridKey, "", hs("%%%", sendgridTS), sendgridBody, at, "signature_malformed"},
		{"signature not DER", sendgridKey, "", hs("AAAA", sendgridTS), sendgridBody, at, "signature_mismatch"},
		{"no timestamp", sendgridKey, "", hs(sendgridSig, sendgridTS)[:1], sendgridBody, at, "signature_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compile(t, hookPolicy("sendgrid", tt.key, tt.next, ""))
			if d := deliver(e, nil, tt.headers, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}

// ECDSA signatures are malleable: (r, n−s) verifies as well as (r, s). Replay protection
// names a SendGrid delivery by its signed content, so the twin signature is still a replay.
func TestSendGridMalleatedSignatureIsAReplay(t *testing.T) {
	e := compile(t, hookPolicy("sendgrid", sendgridKey, "", `,"replay_protection":true`))
	at := time.Unix(1588788367, 0)
	hs := func(sig string) [][2]string {
		return [][2]string{{"x-twilio-email-event-webhook-signature", sig}, {"x-twilio-email-event-webhook-timestamp", sendgridTS}}
	}
	if d := deliver(e, nil, hs(sendgridSig), sendgridBody, at); !d.Allow {
		t.Fatalf("first delivery: %q", d.Code)
	}
	raw, _ := base64.StdEncoding.DecodeString(sendgridSig)
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(raw, &rs); err != nil {
		t.Fatal(err)
	}
	rs.S.Sub(elliptic.P256().Params().N, rs.S)
	twin, err := asn1.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if d := deliver(e, nil, hs(base64.StdEncoding.EncodeToString(twin)), sendgridBody, at); d.Code != "replayed" {
		t.Fatalf("malleated twin: allow %v %q, want replayed", d.Allow, d.Code)
	}
}

// Public keys are checked for their form; the error never echoes the value.
func TestPublicKeyPresetsRefuseBadKeys(t *testing.T) {
	for _, tt := range []struct{ preset, key, want string }{
		{"discord", "abcd", "webhooks[0].secret: must be the application's Ed25519 public key"},
		{"sendgrid", "not-base64!", "webhooks[0].secret: must be the verification key"},
		{"sendgrid", base64.StdEncoding.EncodeToString([]byte("MFkw and then nothing useful")), "webhooks[0].secret: must be the verification key"},
	} {
		_, err := policy.Parse([]byte(hookPolicy(tt.preset, tt.key, "", "")))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s %q: %v, want %q", tt.preset, tt.key, err, tt.want)
		}
	}
}

// A key of the right form but not on the curve is refused by the policy reader, so every
// policy it accepts compiles.
func TestSendGridKeyOffTheCurve(t *testing.T) {
	der, _ := base64.StdEncoding.DecodeString(sendgridKey)
	der[len(der)-1] ^= 1
	_, err := policy.Parse([]byte(hookPolicy("sendgrid", base64.StdEncoding.EncodeToString(der), "", "")))
	if err == nil || !strings.Contains(err.Error(), "webhooks[0].secret: must be the verification key: its point is not on the P-256 curve") {
		t.Fatalf("policy: %v", err)
	}
}
