package policy

import (
	"encoding/base64"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Webhook is an inbound webhook signature verifier. Its secrets travel only inside the signed
// snapshot; the control server keeps them encrypted and never shows them again.
type Webhook struct {
	Name string `json:"name"`
	// Preset is the provider's signing scheme (WebhookPresets).
	Preset string `json:"preset"`
	// Secret verifies signatures; NextSecret too, during a rotation, so deliveries signed with
	// either pass and a rotation drops none.
	Secret     string `json:"secret"`
	NextSecret string `json:"next_secret,omitempty"`
	// ToleranceSeconds bounds the age of a signed timestamp, both ways; 0 means the preset's.
	ToleranceSeconds int `json:"tolerance_seconds,omitempty"`
	// URL is the URL the provider signs, for URL-signing schemes.
	URL string `json:"url,omitempty"`
	// ReplayProtection refuses a delivery whose signed content was already accepted within
	// the window (replay.go in the engine says how it is remembered and bounded).
	ReplayProtection bool `json:"replay_protection,omitempty"`
}

// WebhookPresets are the signing schemes this version verifies, with their default tolerance
// in seconds (0: the scheme signs no timestamp).
var WebhookPresets = map[string]int{
	"generic":           300,
	"github":            0,
	"gitlab":            0,
	"stripe":            300,
	"slack":             300,
	"shopify":           0,
	"standard-webhooks": 300,
	"pagerduty":         0,
	"discord":           300,
	"sendgrid":          300,
	"twilio":            0,
	"square":            0,
	"linear":            60,
	"grafana":           0,
	"mailgun":           300,
	"qstash":            30,
}

// Bounds of the webhooks section.
const (
	MaxWebhooks          = 1_000
	minWebhookSecret     = 16
	maxWebhookTolerance  = 24 * 3600
	standardSecretPrefix = "whsec_"
)

func readWebhook(r *strictjson.Reader, path string, w *Webhook) {
	for k := range r.Object(path) {
		switch k {
		case "name":
			w.Name = r.String(path, k)
		case "preset":
			w.Preset = r.String(path, k)
		case "secret":
			w.Secret = r.String(path, k)
		case "next_secret":
			w.NextSecret = r.String(path, k)
		case "tolerance_seconds":
			w.ToleranceSeconds = int(r.PositiveInt(path, k, maxWebhookTolerance))
		case "url":
			w.URL = r.String(path, k)
		case "replay_protection":
			w.ReplayProtection = r.Bool(path, k)
		default:
			r.Unknown(path, k)
		}
	}
}

// checkWebhooks validates the verifiers. Errors name the field, never a secret's value.
func checkWebhooks(d *strictjson.Decoder, hooks []Webhook, path string) {
	names := map[string]int{}
	for i := range hooks {
		w := &hooks[i]
		wp := strictjson.Index(path, i)
		switch {
		case !isIdentifier(w.Name, 64):
			d.FieldErrorf(wp, "name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		default:
			if j, dup := names[w.Name]; dup {
				d.FieldErrorf(wp, "name", "duplicates webhooks[%d].name %q", j, w.Name)
			}
			names[w.Name] = i
		}
		if _, ok := WebhookPresets[w.Preset]; !ok {
			d.FieldErrorf(wp, "preset", "must be one of %s", presetList())
		}
		if msg := webhookURLProblem(w); msg != "" {
			d.FieldErrorf(wp, "url", "%s", msg)
		}
		if msg := replayProblem(w); msg != "" {
			d.FieldErrorf(wp, "replay_protection", "%s", msg)
		}
		for _, f := range []struct{ field, v string }{{"secret", w.Secret}, {"next_secret", w.NextSecret}} {
			if f.v == "" && f.field == "next_secret" {
				continue
			}
			if msg := webhookSecretProblem(w.Preset, f.v); msg != "" {
				d.FieldErrorf(wp, f.field, "%s", msg)
			}
		}
	}
}

// webhookSecretProblem checks a secret's form without echoing it.
func webhookSecretProblem(preset, s string) string {
	if msg, ok := publicKeyProblem(preset, s); ok {
		return msg
	}
	if preset == "standard-webhooks" {
		raw, ok := strings.CutPrefix(s, standardSecretPrefix)
		b, err := base64.StdEncoding.DecodeString(raw)
		if !ok || err != nil || len(b) < minWebhookSecret {
			return "must be whsec_ followed by the base64 of at least 16 bytes"
		}
		return ""
	}
	if len(s) < minWebhookSecret || hasControl(s) {
		return "must be at least 16 bytes without control characters"
	}
	return ""
}

func checkRouteWebhook(d *strictjson.Decoder, r *Route, hooks []Webhook, path string) {
	switch {
	case r.Auth.Type == AuthWebhook && r.Auth.Webhook == "":
		d.FieldErrorf(path, "webhook", `required with type "webhook": the name of a verifier in webhooks`)
	case r.Auth.Webhook == "":
	case r.Auth.Type == AuthNone:
		d.FieldErrorf(path, "webhook", `needs type "webhook" or "api_key", not "none"`)
	default:
		for _, w := range hooks {
			if w.Name == r.Auth.Webhook {
				return
			}
		}
		d.FieldErrorf(path, "webhook", "names no verifier in webhooks: %q", r.Auth.Webhook)
	}
}

func presetList() string {
	return `"generic", "github", "gitlab", "stripe", "slack", "shopify", "standard-webhooks", "pagerduty", "discord", "sendgrid", "twilio", "square", "linear", "grafana", "mailgun", "qstash"`
}

// replayProblem refuses replay protection where it cannot mean anything: a fixed token is the
// same on every delivery, and a scheme without a signed timestamp has no window unless the
// operator names how long a delivery is remembered.
func replayProblem(w *Webhook) string {
	switch {
	case !w.ReplayProtection:
		return ""
	case w.Preset == "gitlab":
		return "cannot apply to gitlab: its token is the same on every delivery"
	case WebhookPresets[w.Preset] == 0 && w.ToleranceSeconds == 0:
		return "needs tolerance_seconds with this preset: it signs no timestamp, so the window is how long a delivery is remembered"
	}
	return ""
}
