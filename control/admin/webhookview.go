package admin

import (
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// WebhookView is a verifier as the API shows it and the audit log records it: its secrets only
// as masked hints, never in clear, sealed or hashed.
type WebhookView struct {
	Name             string    `json:"name"`
	Preset           string    `json:"preset"`
	MaskedSecret     string    `json:"masked_secret"`
	MaskedNextSecret *string   `json:"masked_next_secret"` // null: no rotation staged
	ToleranceSeconds int       `json:"tolerance_seconds"`  // 0: the preset's
	URL              string    `json:"url"`
	ReplayProtection bool      `json:"replay_protection"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ViewWebhook builds the view of w.
func ViewWebhook(w store.Webhook) WebhookView {
	v := WebhookView{Name: w.Name, Preset: w.Preset, MaskedSecret: w.SecretHint, ToleranceSeconds: w.ToleranceSeconds,
		URL: w.URL, ReplayProtection: w.ReplayProtection, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.NextSecret != nil {
		hint := w.NextSecretHint
		v.MaskedNextSecret = &hint
	}
	return v
}
