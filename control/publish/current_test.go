package publish

import (
	"testing"
	"time"
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
