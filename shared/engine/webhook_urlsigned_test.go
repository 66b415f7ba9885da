package engine_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

// compileURLSigned compiles one verifier with a URL. The providers' published examples use
// secrets shorter than the policy's 16-byte minimum ("12345"), so the secret is put in after
// validation: the scheme is what is under test.
func compileURLSigned(t *testing.T, preset, secret, signedURL string) *engine.Engine {
	t.Helper()
	d, err := policy.Parse([]byte(fmt.Sprintf(`{"version":1,"webhooks":[{"name":"w","preset":%q,"secret":"placeholder-secret-0001","url":%q}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, preset, signedURL)))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	d.Webhooks[0].Secret = secret
	e, err := engine.Compile(d)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

// Twilio's published examples: the official Python SDK's tests (twilio-python,
// tests/unit/test_request_validator.py): auth token 12345, URL
// https://mycompany.com/myapp.php?foo=1&bar=2, the call parameters below →
// RSOYDt4T1cUTdK1PDd93/VVr8B8=; a repeated Digits parameter → IK+Dwps556ElfBT0I3Rgjkr1wJU=;
// a JSON body with its bodySHA256 in the URL → a9nBmqA0ju/hNViExpshrM61xv4=.
func TestTwilioPreset(t *testing.T) {
	const token = "12345"
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}, "Caller": {"+14158675309"}}.Encode()
	dup := "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
	jsonBody := `{"property": "value", "boolean": true}`
	const bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	sig := func(s string) [][2]string { return [][2]string{{"x-twilio-signature", s}} }
	tests := []struct {
		name, url, path, body string
		headers               [][2]string
		want                  string
	}{
		{"SDK example, URL with its query", "https://mycompany.com/myapp.php?foo=1&bar=2", "/hooks/in", form, sig("RSOYDt4T1cUTdK1PDd93/VVr8B8="), ""},
		{"SDK example, query from the request", "https://mycompany.com/myapp.php", "/hooks/in?foo=1&bar=2", form, sig("RSOYDt4T1cUTdK1PDd93/VVr8B8="), ""},
		{"SDK example, repeated parameter", "https://mycompany.com/myapp.php?foo=1&bar=2", "/hooks/in", dup, sig("IK+Dwps556ElfBT0I3Rgjkr1wJU="), ""},
		{"SDK example, JSON body by its hash", "https://mycompany.com/myapp.php", "/hooks/in?foo=1&bar=2&bodySHA256=" + bodyHash, jsonBody, sig("a9nBmqA0ju/hNViExpshrM61xv4="), ""},
		{"JSON body tampered", "https://mycompany.com/myapp.php", "/hooks/in?foo=1&bar=2&bodySHA256=" + bodyHash, jsonBody + " ", sig("a9nBmqA0ju/hNViExpshrM61xv4="), "signature_mismatch"},
		{"a parameter changed", "https://mycompany.com/myapp.php?foo=1&bar=2", "/hooks/in", form + "&Extra=1", sig("RSOYDt4T1cUTdK1PDd93/VVr8B8="), "signature_mismatch"},
		{"another URL", "https://mycompany.com/other.php?foo=1&bar=2", "/hooks/in", form, sig("RSOYDt4T1cUTdK1PDd93/VVr8B8="), "signature_mismatch"},
		{"signature not base64", "https://mycompany.com/myapp.php", "/hooks/in", form, sig("RSOY!"), "signature_malformed"},
		{"signature of the wrong size", "https://mycompany.com/myapp.php", "/hooks/in", form, sig("AAAA"), "signature_malformed"},
		{"body not a form", "https://mycompany.com/myapp.php", "/hooks/in", "a=%zz", sig("RSOYDt4T1cUTdK1PDd93/VVr8B8="), "signature_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileURLSigned(t, "twilio", token, tt.url)
			req := &engine.Request{Method: "POST", Authority: "h", Path: tt.path, Headers: tt.headers, Now: time.Unix(1_700_000_000, 0)}
			d := e.Decide(req)
			if d.Allow && d.BufferBody {
				d = e.DecideBody(&d, req, []byte(tt.body))
			}
			if d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}

// Square's published examples: the official SDKs' WebhooksHelper tests (square-ruby-sdk and
// square-python-sdk share these vectors).
func TestSquarePreset(t *testing.T) {
	const (
		key  = "Ibxx_5AKakO-3qeNVR61Dw"
		hook = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
		body = `{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`
		sig  = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
	)
	h := func(s string) [][2]string { return [][2]string{{"x-square-hmacsha256-signature", s}} }
	tests := []struct {
		name, key, url, body string
		headers              [][2]string
		want                 string
	}{
		{"SDK example", key, hook, body, h(sig), ""},
		{"SDK example with HTML characters", "signature-key", "https://webhook.site/webhooks", `{"data":{"type":"webhooks","id":">id<"}}`, h("Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="), ""},
		{"another notification URL", key, "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", body, h(sig), "signature_mismatch"},
		{"another key", "MCmhFRxGX82xMwg5FsaoQA", hook, body, h(sig), "signature_mismatch"},
		{"re-serialized body", key, hook, "{\n  \"merchant_id\": \"MLEFBHHSJGVHD\"}", h(sig), "signature_mismatch"},
		{"short signature", key, hook, body, h("1z2n3DEJJiUPKcPzQo1ftvbxGdw="), "signature_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileURLSigned(t, "square", tt.key, tt.url)
			if d := deliver(e, nil, tt.headers, tt.body, time.Unix(1_700_000_000, 0)); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}

// URL-signing presets need the URL the provider signs.
func TestURLSigningPresetsNeedURL(t *testing.T) {
	for _, u := range []string{"", "/relative", "ftp://x/y", "https://"} {
		for _, preset := range []string{"twilio", "square", "qstash"} {
			_, err := policy.Parse([]byte(fmt.Sprintf(`{"version":1,"webhooks":[{"name":"w","preset":%q,"secret":"0123456789abcdef","url":%q}],
				"routes":[{"name":"hooks","auth":{"type":"webhook","webhook":"w"}}]}`, preset, u)))
			if err == nil || !strings.Contains(err.Error(), "webhooks[0].url: required with this preset") {
				t.Errorf("%s url %q: %v", preset, u, err)
			}
		}
	}
}
