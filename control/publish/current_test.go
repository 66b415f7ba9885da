package publish

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// TestCurrentNeverGoesBack: a full snapshot built from the history that finishes after a full
// refresh published a later version is dropped, not published over the later one.
func TestCurrentNeverGoesBack(t *testing.T) {
	p := New(nil, nil, Options{})
	start := time.Now()
	for _, tc := range []struct {
		version, want uint64
	}{{5, 5}, {7, 7}, {6, 7}, {7, 7}, {8, 8}} {
		p.setCurrent(&Signed{Version: tc.version, Policy: histDoc(t, "/", nil)}, start)
		if got := p.builtVersion(); got != tc.want {
			t.Fatalf("after a build of %d: newest full snapshot %d, want %d", tc.version, got, tc.want)
		}
	}
}

// TestStepOverTheKeyLimit: a version holding more keys than a snapshot can is not published
// from the write either (its full snapshot could never be built).
func TestStepOverTheKeyLimit(t *testing.T) {
	doc := histDoc(t, "/", nil)
	for _, tc := range []struct {
		held    int
		changed []store.KeyChange
		wantErr bool
	}{
		{policy.MaxKeys - 1, []store.KeyChange{created("a", 2)}, false},
		{policy.MaxKeys, []store.KeyChange{created("a", 2)}, true},
		{policy.MaxKeys, []store.KeyChange{created("a", 2), revoked("b", 1)}, false},
		{policy.MaxKeys, []store.KeyChange{updated("c", 1)}, false},
	} {
		head, next := newHead(1, time.Unix(1, 0), doc), newHead(2, time.Unix(2, 0), doc)
		head.keys = tc.held
		s := stepFromWrite(head, next, tc.changed)
		next.keys = head.keysAfter(&s)
		err := next.checkKeyCount()
		if (err != nil) != tc.wantErr {
			t.Errorf("%d keys held, %d changed: %v, want error %v", tc.held, len(tc.changed), err, tc.wantErr)
		}
	}
}

func created(id string, v uint64) store.KeyChange {
	k := hk(id)
	return store.KeyChange{Key: store.Key{ID: k.ID, SHA256: k.SHA256, Active: true}, CreatedVersion: v, ChangedVersion: v}
}

func updated(id string, v uint64) store.KeyChange {
	c := created(id, v)
	c.ChangedVersion = v + 1
	return c
}

func revoked(id string, v uint64) store.KeyChange {
	c := updated(id, v)
	c.Active, c.RevokedAt = false, time.Unix(2, 0)
	return c
}
