package engine

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// schemes are the providers' signing schemes, by preset name. Each names the provider's
// documented headers, signed content, algorithm and encoding; where a header carries several
// signatures (Stripe, PagerDuty, Standard Webhooks), any valid one accepts and unknown
// versions are skipped.
var schemes = map[string]*scheme{
	// generic: X-Webhook-Signature (hex, optional "sha256=") over timestamp + "." + body,
	// with X-Webhook-Timestamp in Unix seconds.
	"generic": {sigHeaders: []string{"x-webhook-signature"}, verify: func(v *verifier, d *delivery) Code {
		ts, ok := headerValue(d.headers, "x-webhook-timestamp")
		if !ok {
			return CodeSignatureMissing
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		mac, ok := decodeHex(strings.TrimPrefix(trimSpace(d.sig), "sha256="))
		if !ok {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, []byte(ts), dot, d.body))
	}},
	// github: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>. No timestamp.
	"github": {sigHeaders: []string{"x-hub-signature-256"}, verify: func(v *verifier, d *delivery) Code {
		hexSig, ok := strings.CutPrefix(trimSpace(d.sig), "sha256=")
		mac, ok2 := decodeHex(hexSig)
		if !ok || !ok2 {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, d.body))
	}},
	// gitlab: X-Gitlab-Token carries the secret itself, compared in constant time.
	"gitlab": {sigHeaders: []string{"x-gitlab-token"}, headerOnly: true},
	// stripe: Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…] over t + "." + body.
	"stripe": {sigHeaders: []string{"stripe-signature"}, verify: func(v *verifier, d *delivery) Code {
		var ts string
		var macs [][]byte
		for _, part := range strings.Split(d.sig, ",") {
			k, val, _ := strings.Cut(trimSpace(part), "=")
			switch k {
			case "t":
				if ts != "" {
					return CodeSignatureMalformed
				}
				ts = val
			case "v1":
				if mac, ok := decodeHex(val); ok {
					macs = append(macs, mac)
				}
			}
		}
		if ts == "" || len(macs) == 0 {
			return CodeSignatureMalformed
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		return matchOrMismatch(v.macMatches(d, sha256New, macs, []byte(ts), dot, d.body))
	}},
	// slack: X-Slack-Signature: v0=<hex> over "v0:" + X-Slack-Request-Timestamp + ":" + body.
	"slack": {sigHeaders: []string{"x-slack-signature"}, verify: func(v *verifier, d *delivery) Code {
		ts, ok := headerValue(d.headers, "x-slack-request-timestamp")
		if !ok {
			return CodeSignatureMissing
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		hexSig, ok := strings.CutPrefix(trimSpace(d.sig), "v0=")
		mac, ok2 := decodeHex(hexSig)
		if !ok || !ok2 {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, []byte("v0:"+ts+":"), d.body))
	}},
	// shopify: X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body.
	"shopify": {sigHeaders: []string{"x-shopify-hmac-sha256"}, verify: func(v *verifier, d *delivery) Code {
		mac, err := base64.StdEncoding.Strict().DecodeString(trimSpace(d.sig))
		if err != nil {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, d.body))
	}},
	// standard-webhooks: webhook-signature "v1,<base64> v1,<base64>" over id + "." + timestamp
	// + "." + body, with webhook-id and webhook-timestamp; Svix sends the same as svix-*.
	"standard-webhooks": {sigHeaders: []string{"webhook-signature", "svix-signature"}, verify: func(v *verifier, d *delivery) Code {
		prefix := "webhook-"
		if _, ok := headerValue(d.headers, "webhook-signature"); !ok {
			prefix = "svix-"
		}
		id, ok1 := headerValue(d.headers, prefix+"id")
		ts, ok2 := headerValue(d.headers, prefix+"timestamp")
		if !ok1 || !ok2 {
			return CodeSignatureMissing
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		var macs [][]byte
		for _, part := range strings.Fields(d.sig) {
			if b64, ok := strings.CutPrefix(part, "v1,"); ok {
				if mac, err := base64.StdEncoding.Strict().DecodeString(b64); err == nil {
					macs = append(macs, mac)
				}
			}
		}
		if len(macs) == 0 {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, macs, []byte(id), dot, []byte(ts), dot, d.body))
	}},
	// pagerduty: X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…] HMAC-SHA256 of the body.
	"pagerduty": {sigHeaders: []string{"x-pagerduty-signature"}, verify: func(v *verifier, d *delivery) Code {
		var macs [][]byte
		for _, part := range strings.Split(d.sig, ",") {
			if h, ok := strings.CutPrefix(trimSpace(part), "v1="); ok {
				if mac, ok := decodeHex(h); ok {
					macs = append(macs, mac)
				}
			}
		}
		if len(macs) == 0 {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, macs, d.body))
	}},
	"discord":  discordScheme,
	"sendgrid": sendgridScheme,
	"twilio":   twilioScheme,
	"square":   squareScheme,
	"linear":   linearScheme,
	"grafana":  grafanaScheme,
	"mailgun":  mailgunScheme,
	"qstash":   qstashScheme,
}

var dot = []byte(".")

func matchOrMismatch(ok bool) Code {
	if ok {
		return ""
	}
	return CodeSignatureMismatch
}

// decodeHex decodes a SHA-256-sized hex MAC; anything else is malformed.
func decodeHex(s string) ([]byte, bool) {
	if len(s) != 64 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}
