package admin

import (
	"context"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
)

// RecordUsage applies a poll's usage report (the x-portcullis-usage header): each key's use
// count grows and its last_used_at becomes at (when the poll arrived), unless it is already
// later. Unknown key ids are ignored. It returns how many entries the report had.
func (s *Service) RecordUsage(ctx context.Context, at time.Time, header string) (int, error) {
	counts, err := snapshot.ParseUsage(header)
	if err != nil || len(counts) == 0 {
		return 0, err
	}
	return len(counts), s.store.RecordUsage(ctx, at, counts)
}
