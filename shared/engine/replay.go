package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// Replay protection remembers every verified delivery of a verifier with replay_protection
// until its window closes, and refuses the same signed content again within it.
//
// What is remembered is a fingerprint of the signed content, not a header: the HMAC under the
// verifier's current secret over exactly what the scheme signs (for Standard Webhooks that is
// webhook-id, timestamp and body, so the message id is covered), or the signature itself for
// public-key schemes. An attacker cannot change it without breaking the signature, and a
// provider's retry, which is signed again with a new timestamp, is a new delivery.
//
// The table is bounded: ReplayBuckets buckets of ReplaySlots slots, a fingerprint always
// landing in the bucket its first bytes name. A slot is free when empty or expired. When every
// slot of a delivery's bucket holds a live delivery, or the shared store keeps losing the
// compare-and-swap race, the delivery is refused with replay_unrecorded (503, retry later):
// it is never let through unrecorded.

// Fingerprint identifies a verified delivery's signed content.
type Fingerprint [16]byte

// ReplayResult is what a ReplayStore did with a fingerprint.
type ReplayResult uint8

const (
	ReplayFresh      ReplayResult = iota // not seen in its window: recorded now
	ReplaySeen                           // already recorded and not expired
	ReplayUnrecorded                     // could not be recorded (bucket full, store busy)
)

// ReplayStore remembers fingerprints until they expire. The filter implements it over
// proxy-wasm shared data so every worker VM sees every delivery; MemoryReplayStore serves one
// process.
type ReplayStore interface {
	// Remember records fp until expires (Unix seconds), unless it is recorded and live at now.
	Remember(fp Fingerprint, now, expires int64) ReplayResult
}

// The table's bound: 4096 × 16 = 65,536 live deliveries across all verifiers, 24 bytes each
// (1.5 MiB of shared data at most).
const (
	ReplayBuckets    = 4096
	ReplaySlots      = 16
	replayEntryBytes = len(Fingerprint{}) + 8
	// ReplayBucketBytes is the size of a stored bucket.
	ReplayBucketBytes = ReplaySlots * replayEntryBytes
)

// ReplayBucket is the bucket a fingerprint belongs to.
func ReplayBucket(fp Fingerprint) int {
	return int(binary.BigEndian.Uint32(fp[:4]) % ReplayBuckets)
}

// ReplayRecord applies Remember to one stored bucket (nil or empty for a new one) and returns
// the bucket to store when the result is ReplayFresh. It never modifies bucket in place. A
// bucket of the wrong size is treated as unrecordable rather than overwritten blindly.
func ReplayRecord(bucket []byte, fp Fingerprint, now, expires int64) ([]byte, ReplayResult) {
	if len(bucket) == 0 {
		bucket = make([]byte, ReplayBucketBytes)
	} else if len(bucket) != ReplayBucketBytes {
		return nil, ReplayUnrecorded
	} else {
		bucket = append([]byte(nil), bucket...)
	}
	free := -1
	for i := 0; i < ReplaySlots; i++ {
		e := bucket[i*replayEntryBytes : (i+1)*replayEntryBytes]
		exp := int64(binary.BigEndian.Uint64(e[len(fp):]))
		live := exp > now
		if live && Fingerprint(e[:len(fp)]) == fp {
			return nil, ReplaySeen
		}
		if !live && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return nil, ReplayUnrecorded
	}
	e := bucket[free*replayEntryBytes : (free+1)*replayEntryBytes]
	copy(e, fp[:])
	binary.BigEndian.PutUint64(e[len(fp):], uint64(expires))
	return bucket, ReplayFresh
}

// MemoryReplayStore is a ReplayStore for one process: tests, dry runs, and a verifier's
// fallback when the host supplies none. Same table, same bound as the shared one.
type MemoryReplayStore struct {
	mu      sync.Mutex
	buckets map[int][]byte
}

// NewMemoryReplayStore returns an empty store.
func NewMemoryReplayStore() *MemoryReplayStore {
	return &MemoryReplayStore{buckets: map[int][]byte{}}
}

// Remember implements ReplayStore.
func (m *MemoryReplayStore) Remember(fp Fingerprint, now, expires int64) ReplayResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := ReplayBucket(fp)
	next, res := ReplayRecord(m.buckets[b], fp, now, expires)
	if res == ReplayFresh {
		m.buckets[b] = next
	}
	return res
}

// fingerprint names a verifier's delivery: the verifier's name keeps two verifiers sharing a
// secret apart.
func fingerprint(name string, print []byte) Fingerprint {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(print)
	var fp Fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}
