package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// NewWebhook is the input of CreateWebhook. An empty Secret is generated.
type NewWebhook struct {
	Name, Preset, Secret, NextSecret string
	ToleranceSeconds                 int
	URL                              string
	ReplayProtection                 bool
}

// WebhookPatch is the input of UpdateWebhook; nil fields stay as they are. A NextSecret
// pointing to "" removes the next secret.
type WebhookPatch struct {
	Preset, Secret, NextSecret *string
	ToleranceSeconds           *int
	URL                        *string
	ReplayProtection           *bool
}

// Empty reports whether the patch changes nothing.
func (p WebhookPatch) Empty() bool {
	return p.Preset == nil && p.Secret == nil && p.NextSecret == nil && p.ToleranceSeconds == nil && p.URL == nil && p.ReplayProtection == nil
}

// InUseError refuses to delete a verifier that routes bind.
type InUseError struct {
	Webhook string
	Routes  []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("verifier %q is used by route %s: change the policy first", e.Webhook, strings.Join(quoteAll(e.Routes), ", "))
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// CreateWebhook stores a verifier, its secrets sealed, and publishes it. generated is the
// secret when the caller gave none: shown once, kept nowhere in clear.
func (s *Service) CreateWebhook(ctx context.Context, who auth.Principal, in NewWebhook) (w store.Webhook, generated string, version uint64, err error) {
	d := verifier.Doc{Name: in.Name, Preset: in.Preset, Secret: in.Secret, NextSecret: in.NextSecret,
		ToleranceSeconds: in.ToleranceSeconds, URL: in.URL, ReplayProtection: in.ReplayProtection}
	if d.Secret == "" {
		if generated, err = newWebhookSecret(s.rand, d.Preset); err != nil {
			return w, "", 0, err
		}
		d.Secret = generated
	}
	if err := validateWebhook(d); err != nil {
		return w, "", 0, err
	}
	now := s.now()
	w = store.Webhook{CreatedAt: now}
	if err := s.sealWebhook(&w, d, now); err != nil {
		return store.Webhook{}, "", 0, err
	}
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertWebhook(ctx, w); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, "webhook.create", w.Name, version, nil, ViewWebhook(w))
	})
	if err != nil {
		return store.Webhook{}, "", 0, err
	}
	return w, generated, version, nil
}

// Webhook returns one verifier (its secrets stay sealed).
func (s *Service) Webhook(ctx context.Context, name string) (w store.Webhook, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		w, err = tx.Webhook(ctx, name)
		return err
	})
	return w, err
}

// Webhooks returns every verifier, by name.
func (s *Service) Webhooks(ctx context.Context) (list []store.Webhook, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		list, err = tx.Webhooks(ctx)
		return err
	})
	return list, err
}

// UpdateWebhook applies a patch. A patch that changes nothing publishes nothing (version 0).
func (s *Service) UpdateWebhook(ctx context.Context, who auth.Principal, name string, p WebhookPatch) (w store.Webhook, version uint64, err error) {
	return s.changeWebhook(ctx, who, name, "webhook.update", func(d *verifier.Doc) error {
		set(&d.Preset, p.Preset)
		set(&d.Secret, p.Secret)
		set(&d.NextSecret, p.NextSecret)
		set(&d.ToleranceSeconds, p.ToleranceSeconds)
		set(&d.URL, p.URL)
		set(&d.ReplayProtection, p.ReplayProtection)
		return nil
	}, false)
}

// RotateWebhook promotes the next secret to the current one and stages next as the new next
// secret, or a generated one (returned once) when next is nil. Deliveries signed with the old
// current secret fail from the snapshot this publishes.
func (s *Service) RotateWebhook(ctx context.Context, who auth.Principal, name string, next *string) (w store.Webhook, generated string, version uint64, err error) {
	w, version, err = s.changeWebhook(ctx, who, name, "webhook.rotate", func(d *verifier.Doc) error {
		if d.NextSecret == "" {
			return ErrNoNextSecret
		}
		d.Secret = d.NextSecret
		if next != nil {
			d.NextSecret = *next
			return nil
		}
		var err error
		generated, err = newWebhookSecret(s.rand, d.Preset)
		d.NextSecret = generated
		return err
	}, true)
	if err != nil {
		return store.Webhook{}, "", 0, err
	}
	return w, generated, version, nil
}

// changeWebhook opens a verifier, applies change, validates the result alone and within the
// policy, and publishes it. always publishes even when the verifier reads the same.
func (s *Service) changeWebhook(ctx context.Context, who auth.Principal, name, action string, change func(*verifier.Doc) error,
	always bool) (w store.Webhook, version uint64, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if w, err = tx.Webhook(ctx, name); err != nil {
			return err
		}
		before := w
		d, err := verifier.Open(s.seal, w)
		if err != nil {
			return err
		}
		old := d
		if err := change(&d); err != nil {
			return err
		}
		if d == old && !always {
			return nil
		}
		if err := validateWebhook(d); err != nil {
			return err
		}
		if err := s.checkPolicyWith(ctx, tx, d); err != nil {
			return err
		}
		if err := s.sealWebhook(&w, d, now); err != nil {
			return err
		}
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, action, w.Name, version, ViewWebhook(before), ViewWebhook(w))
	})
	if err != nil {
		return store.Webhook{}, 0, err
	}
	return w, version, nil
}

// DeleteWebhook removes a verifier that no route binds.
func (s *Service) DeleteWebhook(ctx context.Context, who auth.Principal, name string) (version uint64, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		w, err := tx.Webhook(ctx, name)
		if err != nil {
			return err
		}
		doc, err := s.storedPolicy(ctx, tx)
		if err != nil {
			return err
		}
		var routes []string
		for _, r := range doc.Routes {
			if r.Auth.Webhook == name {
				routes = append(routes, r.Name)
			}
		}
		if len(routes) > 0 {
			return &InUseError{Webhook: name, Routes: routes}
		}
		if err := tx.DeleteWebhook(ctx, name); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, "webhook.delete", name, version, ViewWebhook(w), nil)
	})
	return version, err
}

// openWebhooks returns every stored verifier with its secrets opened.
func (s *Service) openWebhooks(ctx context.Context, tx store.Tx) ([]verifier.Doc, error) {
	hooks, err := tx.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	return verifier.OpenAll(s.seal, hooks)
}

// storedPolicy parses the stored policy with the stored verifiers, as the publisher does.
func (s *Service) storedPolicy(ctx context.Context, tx store.Tx) (*policy.Document, error) {
	p, err := tx.Policy(ctx)
	if err != nil {
		return nil, err
	}
	hooks, err := s.openWebhooks(ctx, tx)
	if err != nil {
		return nil, err
	}
	return parseWithWebhooks(p.Document, hooks, policy.Options{})
}

// checkPolicyWith checks that the stored policy still publishes with d in place of the stored
// verifier of its name.
func (s *Service) checkPolicyWith(ctx context.Context, tx store.Tx, d verifier.Doc) error {
	p, err := tx.Policy(ctx)
	if err != nil {
		return err
	}
	hooks, err := s.openWebhooks(ctx, tx)
	if err != nil {
		return err
	}
	for i := range hooks {
		if hooks[i].Name == d.Name {
			hooks[i] = d
		}
	}
	if _, err := parseWithWebhooks(p.Document, hooks, policy.Options{}); err != nil {
		return invalid("", "the published policy would not accept this change: %v", err)
	}
	return nil
}

// parseWithWebhooks parses a policy document (without a webhooks section) with hooks as its
// webhooks section.
func parseWithWebhooks(doc []byte, hooks []verifier.Doc, o policy.Options) (*policy.Document, error) {
	merged, err := verifier.Merge(doc, hooks)
	if err != nil {
		return nil, err
	}
	d, err := policy.ParseWith(merged, o)
	var fe *strictjson.Errors
	if errors.As(err, &fe) {
		for i := range fe.List {
			if strings.HasPrefix(fe.List[i].Msg, "names no verifier in webhooks") {
				fe.List[i].Msg += "; create the verifier first with POST /v1/webhooks"
			}
		}
	}
	return d, err
}

// sealWebhook writes d into w with its secrets sealed and their hints.
func (s *Service) sealWebhook(w *store.Webhook, d verifier.Doc, now time.Time) error {
	var err error
	w.Name, w.Preset, w.ToleranceSeconds, w.URL, w.ReplayProtection, w.UpdatedAt = d.Name, d.Preset, d.ToleranceSeconds, d.URL, d.ReplayProtection, now
	if w.Secret, err = s.seal.Seal([]byte(d.Secret), verifier.AD(d.Name, "secret")); err != nil {
		return err
	}
	w.SecretHint = secretHint(d.Secret)
	w.NextSecret, w.NextSecretHint = nil, ""
	if d.NextSecret != "" {
		if w.NextSecret, err = s.seal.Seal([]byte(d.NextSecret), verifier.AD(d.Name, "next_secret")); err != nil {
			return err
		}
		w.NextSecretHint = secretHint(d.NextSecret)
	}
	return nil
}

// secretHint shows a secret as its last four characters: enough to tell two apart, far too
// little to guess one (secrets are at least 16 bytes).
func secretHint(secret string) string {
	if len(secret) < 16 {
		return "****"
	}
	return "****" + secret[len(secret)-4:]
}

// newWebhookSecret generates 32 random bytes in the form the preset takes.
func newWebhookSecret(r io.Reader, preset string) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	if preset == "standard-webhooks" {
		return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
	}
	return "whk_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// validateWebhook checks a verifier with exactly the rules the filter applies, by parsing it
// as a one-verifier policy; errors name the API's fields.
func validateWebhook(d verifier.Doc) error {
	doc, err := verifier.Merge([]byte(`{"version":1,"default_action":"deny"}`), []verifier.Doc{d})
	if err != nil {
		return err
	}
	_, err = policy.Parse(doc)
	var fe *strictjson.Errors
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	var out strictjson.Decoder
	for _, e := range fe.List {
		out.Errorf(strings.TrimPrefix(e.Path, "webhooks[0]."), "%s", e.Msg)
	}
	return out.Err()
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
