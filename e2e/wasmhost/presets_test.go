package wasmhost_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestPresetVectorsInTheVM runs the providers' published examples (and, for Discord, which
// publishes none, a fixed key) through the compiled filter: the Ed25519, ECDSA P-256,
// HMAC-SHA1 and URL-signing code paths verify inside the Wasm VM as they do natively
// (shared/engine has the full tables and the sources).
func TestPresetVectorsInTheVM(t *testing.T) {
	discordKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	const (
		sendgridKey  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
		sendgridSig  = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
		sendgridTS   = 1588788367
		sendgridBody = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
		squareKey    = "Ibxx_5AKakO-3qeNVR61Dw"
		squareURL    = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
		squareBody   = `{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`
		squareSig    = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
	)
	config := []byte(`{"policy": {"version": 1,
	  "webhooks": [
	    {"name": "sg", "preset": "sendgrid", "secret": "` + sendgridKey + `"},
	    {"name": "sq", "preset": "square", "secret": "` + squareKey + `", "url": "` + squareURL + `"},
	    {"name": "dc", "preset": "discord", "secret": "` + hex.EncodeToString(discordKey.Public().(ed25519.PublicKey)) + `"}],
	  "routes": [
	    {"name": "sg", "match": {"path_prefix": "/hooks/sendgrid"}, "auth": {"type": "webhook", "webhook": "sg"}},
	    {"name": "sq", "match": {"path_prefix": "/hooks/square"}, "auth": {"type": "webhook", "webhook": "sq"}},
	    {"name": "dc", "match": {"path_prefix": "/hooks/discord"}, "auth": {"type": "webhook", "webhook": "dc"}}]}}`)
	clock := wasmhost.NewFakeClock(time.Unix(sendgridTS+30, 0))
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 1, PluginConfig: config, Clock: clock})
	at := strconv.Itoa(sendgridTS + 30)
	discordBody := `{"type":1}`
	req := func(path string, extra ...[2]string) [][2]string {
		return append([][2]string{{":method", "POST"}, {":path", path}, {":authority", "hooks.example.com"}}, extra...)
	}
	tests := []struct {
		name    string
		headers [][2]string
		body    string
		status  int
		code    string
	}{
		{"sendgrid SDK example", req("/hooks/sendgrid", [2]string{"x-twilio-email-event-webhook-signature", sendgridSig},
			[2]string{"x-twilio-email-event-webhook-timestamp", strconv.Itoa(sendgridTS)}), sendgridBody, 200, ""},
		{"sendgrid SDK example, tampered", req("/hooks/sendgrid", [2]string{"x-twilio-email-event-webhook-signature", sendgridSig},
			[2]string{"x-twilio-email-event-webhook-timestamp", strconv.Itoa(sendgridTS)}), sendgridBody + " ", 401, "signature_mismatch"},
		{"square SDK example", req("/hooks/square", [2]string{"x-square-hmacsha256-signature", squareSig}), squareBody, 200, ""},
		{"square SDK example, tampered", req("/hooks/square", [2]string{"x-square-hmacsha256-signature", squareSig}), squareBody[1:], 401, "signature_mismatch"},
		{"discord", req("/hooks/discord", [2]string{"x-signature-ed25519", hex.EncodeToString(ed25519.Sign(discordKey, []byte(at+discordBody)))},
			[2]string{"x-signature-timestamp", at}), discordBody, 200, ""},
		{"discord, tampered", req("/hooks/discord", [2]string{"x-signature-ed25519", hex.EncodeToString(ed25519.Sign(discordKey, []byte(at+discordBody)))},
			[2]string{"x-signature-timestamp", at}), url.QueryEscape(discordBody), 401, "signature_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, code := post(t, h, tt.headers, tt.body); status != tt.status || code != tt.code {
				t.Fatalf("%d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
}
