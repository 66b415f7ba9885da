package admin

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// liveKeys is a transaction that knows only how many keys are live.
type liveKeys struct {
	store.Tx
	n int
}

func (l liveKeys) LiveKeys(context.Context) (int, error) { return l.n, nil }

// TestRoomForKeys: a key or an import that would leave more live keys than a snapshot carries
// is refused with ErrTooManyKeys (409 too_many_keys), instead of being stored in a version the
// control server could never publish.
func TestRoomForKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		live, n int
		want    error
	}{
		{"the last key that fits", policy.MaxKeys - 1, 1, nil},
		{"one key too many", policy.MaxKeys, 1, ErrTooManyKeys},
		{"an import that ends at the limit (its keys counted already)", policy.MaxKeys, 0, nil},
		{"an import past the limit", policy.MaxKeys + 5, 0, ErrTooManyKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := roomForKeys(context.Background(), liveKeys{n: tc.live}, tc.n); !errors.Is(err, tc.want) {
				t.Fatalf("roomForKeys(%d live, %d more) = %v, want %v", tc.live, tc.n, err, tc.want)
			}
		})
	}
}
