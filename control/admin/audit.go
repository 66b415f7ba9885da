package admin

import (
	"context"

	"github.com/portcullis/portcullis/control/store"
)

// ListAudit returns up to limit entries older than the cursor (0: the newest), newest first,
// and the cursor of the next page (0 on the last page).
func (s *Service) ListAudit(ctx context.Context, before int64, limit int) (entries []store.AuditEntry, next int64, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		entries, err = tx.ListAudit(ctx, before, limit+1)
		return err
	})
	entries, next = page(entries, limit, func(e store.AuditEntry) int64 { return e.ID })
	return entries, next, err
}
