package admin

import (
	"context"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// RecordUsage applies a poll's usage report (the x-portcullis-usage header): each key's use
// count grows and its last_used_at becomes the time of its last use, unless it is already
// later. The time is the filter's; a report without one (an older filter), or with one later
// than arrived (a filter clock ahead of the server's), counts as used when the poll arrived:
// no key is recorded as used in the server's future. Unknown key ids are ignored. It returns
// how many entries the report had.
func (s *Service) RecordUsage(ctx context.Context, arrived time.Time, header string) (int, error) {
	reported, err := snapshot.ParseUsage(header)
	if err != nil || len(reported) == 0 {
		return 0, err
	}
	uses := make(map[string]store.Use, len(reported))
	for id, u := range reported {
		at := u.Last
		if at.IsZero() || at.After(arrived) {
			at = arrived
		}
		uses[id] = store.Use{Count: u.Count, At: at}
	}
	return len(uses), s.store.RecordUsage(ctx, uses)
}
