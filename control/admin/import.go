package admin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/policy"
)

// ImportPolicyWebhooks moves a webhooks section that an earlier version kept inside the stored
// policy document (secrets in clear) into the verifier table, sealed, and removes it from the
// document. The published snapshot stays the same, so no version is bumped. It returns how
// many verifiers moved; a start calls it once the master key is proven.
func (s *Service) ImportPolicyWebhooks(ctx context.Context) (moved int, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		p, err := tx.Policy(ctx)
		if err != nil || !verifier.HasSection(p.Document) {
			return err
		}
		doc, err := policy.Parse(p.Document)
		if err != nil {
			return fmt.Errorf("stored policy: %w", err)
		}
		for _, h := range doc.Webhooks {
			w := store.Webhook{CreatedAt: now}
			d := verifier.Doc{Name: h.Name, Preset: h.Preset, Secret: h.Secret, NextSecret: h.NextSecret,
				ToleranceSeconds: h.ToleranceSeconds, URL: h.URL}
			if err := s.sealWebhook(&w, d, now); err != nil {
				return err
			}
			if err := tx.InsertWebhook(ctx, w); err != nil {
				return fmt.Errorf("import verifier %q from the stored policy: %w", h.Name, err)
			}
			if err := audit(ctx, tx, now, auth.System(), "webhook.import", w.Name, 0, nil, ViewWebhook(w)); err != nil {
				return err
			}
		}
		moved = len(doc.Webhooks)
		doc.Keys, doc.Webhooks = nil, nil
		stripped, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		p.Document = stripped
		return tx.PutPolicy(ctx, p)
	})
	return moved, err
}
