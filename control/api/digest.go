package api

import (
	"crypto/sha256"
	"sync"

	"github.com/portcullis/portcullis/control/publish"
)

// snapshotDigest remembers the SHA-256 of the snapshot being served, which every answer's
// freshness statement names: a full snapshot (tens of megabytes at a million keys) is hashed
// once per published version, not once per answer. Concurrent answers for a new version wait
// for the one hash.
type snapshotDigest struct {
	mu  sync.Mutex
	of  *publish.Signed
	sum [sha256.Size]byte
}

func (d *snapshotDigest) get(cur *publish.Signed) [sha256.Size]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.of != cur {
		d.of, d.sum = cur, sha256.Sum256(cur.Payload)
	}
	return d.sum
}
