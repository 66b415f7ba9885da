package admin

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// liveKeys is a transaction that knows only how many keys are live and were ever stored.
type liveKeys struct {
	store.Tx
	n, ever int
	counted *bool
}

func (l liveKeys) LiveKeys(context.Context) (int, error) { *l.counted = true; return l.n, nil }
func (l liveKeys) KeysEverStored(context.Context) (int64, error) {
	return int64(max(l.ever, l.n)), nil
}

// TestRoomForKeys: a key or an import that would leave more live keys than a snapshot carries
// is refused with ErrTooManyKeys (409 too_many_keys), instead of being stored in a version the
// control server could never publish.
func TestRoomForKeys(t *testing.T) {
	for _, tc := range []struct {
		name          string
		live, ever, n int
		want          error
		counts        bool // whether the exact (costly) count is needed
	}{
		{"far below the limit: not counted", 10, 20, 1, nil, false},
		{"the last key that fits", policy.MaxKeys - 1, 0, 1, nil, false},
		{"one key too many", policy.MaxKeys, 0, 1, ErrTooManyKeys, true},
		{"room left by revoked keys", policy.MaxKeys - 1, policy.MaxKeys + 7, 1, nil, true},
		{"an import that ends at the limit (its keys counted already)", policy.MaxKeys, 0, 0, nil, false},
		{"an import past the limit", policy.MaxKeys + 5, 0, 0, ErrTooManyKeys, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted := false
			s := &Service{maxKeys: policy.MaxKeys}
			err := s.roomForKeys(context.Background(), liveKeys{n: tc.live, ever: tc.ever, counted: &counted}, tc.n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("roomForKeys(%d live, %d more) = %v, want %v", tc.live, tc.n, err, tc.want)
			}
			if counted != tc.counts {
				t.Fatalf("counted the keys: %v, want %v", counted, tc.counts)
			}
		})
	}
}
