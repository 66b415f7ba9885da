package admin

import (
	"context"
	"time"

	"github.com/portcullis/portcullis/control/checks"
	"github.com/portcullis/portcullis/control/store"
)

// CheckInputs reads what the policy checks need beyond the published document: when each
// published key was created and last used, and when each verifier last changed (its secrets
// with it), all from one consistent read.
func (s *Service) CheckInputs(ctx context.Context) (checks.Inputs, error) {
	in := checks.Inputs{Now: s.now(), Usage: map[string]checks.KeyUsage{}}
	err := s.store.Read(ctx, func(tx store.Tx) error {
		keys, err := tx.PublishedKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			in.Usage[k.ID] = checks.KeyUsage{CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
		}
		hooks, err := tx.Webhooks(ctx)
		if err != nil {
			return err
		}
		in.SecretChangedAt = make(map[string]time.Time, len(hooks))
		for _, w := range hooks {
			in.SecretChangedAt[w.Name] = w.UpdatedAt
		}
		return nil
	})
	return in, err
}
