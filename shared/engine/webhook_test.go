package engine_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
)

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func hmacB64(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Published examples, with their sources:
//   - GitHub, "Validating webhook deliveries": secret "It's a Secret to Everybody", payload
//     "Hello, World!", X-Hub-Signature-256 sha256=757107ea….
//   - Slack, "Verifying requests from Slack": signing secret 8f742231b10e8888abcd99yyyzzz85a5,
//     timestamp 1531420618, the slash-command body below, v0=a2114d57….
//   - Standard Webhooks, the specification's test vector (also Svix's): whsec_MfKQ9r8G…,
//     msg_p5jXN8AQM9LWM0D4loKWxJek at 1614265330, {"test": 2432232314}, v1,g0hM9SsE….
const (
	githubSecret = "It's a Secret to Everybody"
	githubSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	slackSecret  = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTS      = "1531420618"
	slackBody    = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSig     = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	swSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID         = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS         = "1614265330"
	swBody       = `{"test": 2432232314}`
	swSig        = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestWebhookPresets(t *testing.T) {
	const (
		sec  = "whsec-test-current-0001"
		next = "whsec-test-next-000002"
		old  = "whsec-test-retired-0003"
	)
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"id":"evt_1","amount":100}`
	slackNow := time.Unix(1531420618+30, 0)
	swNow := time.Unix(1614265330+10, 0)
	type hs = [][2]string
	tests := []struct {
		name, preset, secret, next string
		headers                    hs
		body                       string
		now                        time.Time
		want                       string // "" allowed
	}{
		{"github docs example", "github", githubSecret, "", hs{{"x-hub-signature-256", githubSig}}, "Hello, World!", now, ""},
		{"github tampered body", "github", githubSecret, "", hs{{"x-hub-signature-256", githubSig}}, "Hello, World?", now, "signature_mismatch"},
		{"github without prefix", "github", githubSecret, "", hs{{"x-hub-signature-256", githubSig[7:]}}, "Hello, World!", now, "signature_malformed"},
		{"github bad hex", "github", githubSecret, "", hs{{"x-hub-signature-256", "sha256=zz" + githubSig[9:]}}, "Hello, World!", now, "signature_malformed"},
		{"slack docs example", "slack", slackSecret, "", hs{{"x-slack-signature", slackSig}, {"x-slack-request-timestamp", slackTS}}, slackBody, slackNow, ""},
		{"slack replayed an hour later", "slack", slackSecret, "", hs{{"x-slack-signature", slackSig}, {"x-slack-request-timestamp", slackTS}}, slackBody, slackNow.Add(time.Hour), "timestamp_out_of_window"},
		{"slack tampered timestamp", "slack", slackSecret, "", hs{{"x-slack-signature", slackSig}, {"x-slack-request-timestamp", "1531420619"}}, slackBody, slackNow, "signature_mismatch"},
		{"slack without timestamp", "slack", slackSecret, "", hs{{"x-slack-signature", slackSig}}, slackBody, slackNow, "signature_missing"},
		{"standard webhooks spec vector", "standard-webhooks", swSecret, "", hs{{"webhook-id", swID}, {"webhook-timestamp", swTS}, {"webhook-signature", swSig}}, swBody, swNow, ""},
		{"svix header names", "standard-webhooks", swSecret, "", hs{{"svix-id", swID}, {"svix-timestamp", swTS}, {"svix-signature", swSig}}, swBody, swNow, ""},
		{"several signatures, unknown versions skipped", "standard-webhooks", swSecret, "", hs{{"webhook-id", swID}, {"webhook-timestamp", swTS},
			{"webhook-signature", "v2,abc v1,AAAA " + swSig}}, swBody, swNow, ""},
		{"standard webhooks wrong id", "standard-webhooks", swSecret, "", hs{{"webhook-id", "msg_other"}, {"webhook-timestamp", swTS}, {"webhook-signature", swSig}}, swBody, swNow, "signature_mismatch"},
		{"standard webhooks re-serialized JSON", "standard-webhooks", swSecret, "", hs{{"webhook-id", swID}, {"webhook-timestamp", swTS}, {"webhook-signature", swSig}}, `{"test":2432232314}`, swNow, "signature_mismatch"},
		{"standard webhooks from the future", "standard-webhooks", swSecret, "", hs{{"webhook-id", swID}, {"webhook-timestamp", swTS}, {"webhook-signature", swSig}}, swBody, swNow.Add(-10 * time.Minute), "timestamp_out_of_window"},
		{"generic", "generic", sec, "", hs{{"x-webhook-signature", hmacHex(sec, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now, ""},
		{"generic with prefix", "generic", sec, "", hs{{"x-webhook-signature", "sha256=" + hmacHex(sec, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now, ""},
		{"generic signed with the next secret", "generic", sec, next, hs{{"x-webhook-signature", hmacHex(next, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now, ""},
		{"generic signed with a retired secret", "generic", sec, next, hs{{"x-webhook-signature", hmacHex(old, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now, "signature_mismatch"},
		{"generic 301 s old", "generic", sec, "", hs{{"x-webhook-signature", hmacHex(sec, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now.Add(301 * time.Second), "timestamp_out_of_window"},
		{"generic 300 s old", "generic", sec, "", hs{{"x-webhook-signature", hmacHex(sec, ts+"."+body)}, {"x-webhook-timestamp", ts}}, body, now.Add(300 * time.Second), ""},
		{"generic negative timestamp", "generic", sec, "", hs{{"x-webhook-signature", hmacHex(sec, "-1."+body)}, {"x-webhook-timestamp", "-1"}}, body, now, "signature_malformed"},
		{"generic empty body", "generic", sec, "", hs{{"x-webhook-signature", hmacHex(sec, ts+".")}, {"x-webhook-timestamp", ts}}, "", now, ""},
		{"signature header repeated", "generic", sec, "", hs{{"x-webhook-signature", "a"}, {"x-webhook-signature", "b"}, {"x-webhook-timestamp", ts}}, body, now, "signature_malformed"},
		{"no signature at all", "generic", sec, "", hs{{"x-webhook-timestamp", ts}}, body, now, "signature_missing"},
		{"stripe", "stripe", sec, "", hs{{"stripe-signature", "t=" + ts + ",v1=" + hmacHex(sec, ts+"."+body) + ",v0=ignored"}}, body, now, ""},
		{"stripe second v1 valid", "stripe", sec, "", hs{{"stripe-signature", "t=" + ts + ",v1=" + hmacHex(old, ts+"."+body) + ",v1=" + hmacHex(sec, ts+"."+body)}}, body, now, ""},
		{"stripe only v0", "stripe", sec, "", hs{{"stripe-signature", "t=" + ts + ",v0=" + hmacHex(sec, ts+"."+body)}}, body, now, "signature_malformed"},
		{"stripe two timestamps", "stripe", sec, "", hs{{"stripe-signature", "t=1,t=" + ts + ",v1=" + hmacHex(sec, ts+"."+body)}}, body, now, "signature_malformed"},
		{"stripe stale", "stripe", sec, "", hs{{"stripe-signature", "t=" + ts + ",v1=" + hmacHex(sec, ts+"."+body)}}, body, now.Add(time.Hour), "timestamp_out_of_window"},
		{"shopify", "shopify", sec, "", hs{{"x-shopify-hmac-sha256", hmacB64(sec, body)}}, body, now, ""},
		{"shopify bad base64", "shopify", sec, "", hs{{"x-shopify-hmac-sha256", "%%%"}}, body, now, "signature_malformed"},
		{"pagerduty", "pagerduty", sec, "", hs{{"x-pagerduty-signature", "v1=" + hmacHex(old, body) + ",v1=" + hmacHex(sec, body)}}, body, now, ""},
		{"pagerduty mismatch", "pagerduty", sec, "", hs{{"x-pagerduty-signature", "v1=" + hmacHex(old, body)}}, body, now, "signature_mismatch"},
		{"gitlab token", "gitlab", sec, next, hs{{"x-gitlab-token", next}}, body, now, ""},
		{"gitlab wrong token", "gitlab", sec, "", hs{{"x-gitlab-token", sec + "x"}}, body, now, "signature_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nextField := ""
			if tt.next != "" {
				nextField = fmt.Sprintf(`,"next_secret":%q`, tt.next)
			}
			e := compile(t, fmt.Sprintf(`{"version":1,"webhooks":[{"name":"w","preset":%q,"secret":%q%s}],
				"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"w"}}]}`, tt.preset, tt.secret, nextField))
			req := &engine.Request{Method: "POST", Authority: "h", Path: "/hooks/in", Headers: tt.headers, Now: tt.now}
			d := e.Decide(req)
			if d.Allow && d.BufferBody {
				d = e.DecideBody(&d, req, []byte(tt.body))
			}
			if got := d.Code; got != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v code %q, want %q", d.Allow, got, tt.want)
			}
			if !d.Allow && (d.Status != 401 || d.Stage != engine.StageSignature) {
				t.Fatalf("denial %d at %v, want 401 at the signature stage", d.Status, d.Stage)
			}
		})
	}
}

// Only routes with a body check ask the host to buffer; an API key and a signature on one
// route must both pass.
func TestBufferBodyOnlyWhereNeeded(t *testing.T) {
	const sec = "whsec-test-current-0001"
	e := compile(t, `{"version":1,"webhooks":[{"name":"w","preset":"github","secret":"`+sec+`"}],"routes":[
		{"name":"plain","match":{"path_prefix":"/plain"},"auth":{"type":"none"}},
		{"name":"both","match":{"path_prefix":"/both"},"auth":{"type":"api_key","webhook":"w"}}],
		"keys":[{"id":"k","sha256":"`+sha256Hex("pcs_key_1")+`"}]}`)
	if d := e.Decide(&engine.Request{Method: "POST", Authority: "h", Path: "/plain"}); !d.Allow || d.BufferBody {
		t.Fatalf("plain route: allow %v buffer %v", d.Allow, d.BufferBody)
	}
	sig := [2]string{"x-hub-signature-256", "sha256=" + hmacHex(sec, "x")}
	if d := e.Decide(&engine.Request{Method: "POST", Authority: "h", Path: "/both", Headers: [][2]string{sig}}); d.Code != "missing_credentials" {
		t.Fatalf("signature without key: %s", d.Code)
	}
	req := &engine.Request{Method: "POST", Authority: "h", Path: "/both", Headers: [][2]string{sig, {"x-api-key", "pcs_key_1"}}}
	d := e.Decide(req)
	if !d.Allow || !d.BufferBody || d.KeyID != "k" {
		t.Fatalf("key and signature: allow %v buffer %v key %q", d.Allow, d.BufferBody, d.KeyID)
	}
	if got := e.DecideBody(&d, req, []byte("x")); !got.Allow || got.KeyID != "k" {
		t.Fatalf("body verified: %+v", got)
	}
	if got := e.DecideBody(&d, req, []byte("y")); got.Allow || got.Code != "signature_mismatch" || got.Route != "both" {
		t.Fatalf("tampered body: %+v", got)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
