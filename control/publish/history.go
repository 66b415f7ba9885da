package publish

import (
	"crypto/sha256"
	"maps"
	"slices"
	"sync"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// History bounds: the number of published versions whose changes are kept, and the size of a
// delta worth sending rather than a full snapshot.
const (
	maxSteps      = 256
	maxDeltaItems = 20_000
)

// SignedDelta is one signed delta, immutable.
type SignedDelta struct {
	Base, Version uint64
	Payload       []byte
	Signature     string // base64, served in snapshot.SignatureHeader
	Digest        [sha256.Size]byte
}

// step is the exact difference between two consecutively published versions.
type step struct {
	base, target uint64
	baseIssued   int64 // the base version's issued_at, Unix microseconds
	changes      *policy.Changes
	// Keys, revocations and verifiers the step put that the base did not hold, so that
	// composing a creation with a later removal cancels out instead of removing what the base
	// lacks.
	newKeys, newRevocations, newWebhooks map[string]bool
}

// history keeps the changes between the versions this replica published, in memory.
//
// # Notes
//
// Why in memory and not a store table: a delta is only an optimization — a filter that gets a
// full snapshot instead is just as correct — so the history does not need to survive a restart
// (after one, filters get one full snapshot each), and every replica builds its own from the
// versions it publishes. Because each step is the exact difference of two published documents,
// the composition from a base to the current version is the exact difference of those two
// documents, however many intermediate versions this replica happened to see: replicas on one
// PostgreSQL database answer the same (base, version) with byte-identical deltas, and no
// migration or write amplification (a history row per key change) is needed.
type history struct {
	mu     sync.Mutex
	steps  []step                  // consecutive, oldest first
	signed map[uint64]*SignedDelta // by base, to the newest target
}

// reset forgets every step: no delta reaches across what comes next (the document outside
// keys changed, or a full rebuild).
func (h *history) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.steps, h.signed = nil, nil
}

// record adds s, or starts over from it when it does not follow the last step. Beyond maxSteps
// the oldest steps go, but never one that leads past built (the newest full snapshot): the
// next full snapshot is built from that one and the steps after it.
func (h *history) record(s step, built uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signed = nil
	if n := len(h.steps); n > 0 && h.steps[n-1].target != s.base {
		h.steps = nil
	}
	h.steps = append(h.steps, s)
	drop := 0
	for len(h.steps)-drop > maxSteps && h.steps[drop].target <= built {
		drop++
	}
	h.steps = slices.Delete(h.steps, 0, drop)
}

// keyChanges is the composed change from version base to target, false when the history does
// not hold every step in between.
func (h *history) keyChanges(base, target uint64) (*policy.Changes, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.steps, func(s step) bool { return s.base == base })
	j := slices.IndexFunc(h.steps, func(s step) bool { return s.target == target })
	if i < 0 || j < i {
		return nil, false
	}
	return compose(h.steps[i : j+1]), true
}

// delta returns the signed delta from base to the head cur, or nil when the history does not
// reach back to base or the delta would be too large to be worth it.
func (h *history) delta(base uint64, issued int64, hasIssued bool, cur *Head, sign func([]byte) string) *SignedDelta {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.steps)
	if n == 0 || h.steps[n-1].target != cur.Version {
		return nil
	}
	i := slices.IndexFunc(h.steps, func(s step) bool { return s.base == base })
	if i < 0 || (hasIssued && h.steps[i].baseIssued != issued) {
		return nil
	}
	if d := h.signed[base]; d != nil {
		return d
	}
	changes := compose(h.steps[i:])
	if changes.Len() > maxDeltaItems {
		return nil
	}
	payload, err := snapshot.EncodeDelta(&snapshot.Delta{Base: base, Version: cur.Version, IssuedAt: cur.IssuedAt, Changes: changes})
	if err != nil {
		return nil // a full snapshot serves instead
	}
	d := &SignedDelta{Base: base, Version: cur.Version, Payload: payload, Signature: sign(payload), Digest: sha256.Sum256(payload)}
	if h.signed == nil {
		h.signed = make(map[uint64]*SignedDelta)
	}
	h.signed[base] = d
	return d
}

// compose turns consecutive steps into the one delta from the first base to the last target,
// in canonical order: the exact difference between those two versions.
func compose(steps []step) *policy.Changes {
	keys := map[string]*composed[policy.KeyRef, policy.Key]{}
	revs := map[string]*composed[string, policy.Revocation]{}
	hooks := map[string]*composed[string, policy.Webhook]{}
	for _, s := range steps {
		for _, r := range s.changes.RemoveKeys {
			track(keys, r.ID, true, r).final = nil
		}
		for i := range s.changes.PutKeys {
			k := &s.changes.PutKeys[i]
			track(keys, k.ID, !s.newKeys[k.ID], policy.KeyRef{ID: k.ID, SHA256: k.SHA256}).final = k
		}
		for _, jti := range s.changes.RemoveRevocations {
			track(revs, jti, true, jti).final = nil
		}
		for i := range s.changes.PutRevocations {
			r := &s.changes.PutRevocations[i]
			track(revs, r.JTI, !s.newRevocations[r.JTI], r.JTI).final = r
		}
		for _, name := range s.changes.RemoveWebhooks {
			track(hooks, name, true, name).final = nil
		}
		for i := range s.changes.PutWebhooks {
			w := &s.changes.PutWebhooks[i]
			track(hooks, w.Name, !s.newWebhooks[w.Name], w.Name).final = w
		}
	}
	c := &policy.Changes{}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		switch st := keys[id]; {
		case st.final != nil:
			c.PutKeys = append(c.PutKeys, *st.final)
		case st.existed:
			c.RemoveKeys = append(c.RemoveKeys, st.ref)
		}
	}
	for _, jti := range slices.Sorted(maps.Keys(revs)) {
		switch st := revs[jti]; {
		case st.final != nil && !st.existed:
			c.PutRevocations = append(c.PutRevocations, *st.final)
		case st.final == nil && st.existed:
			c.RemoveRevocations = append(c.RemoveRevocations, jti)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(hooks)) {
		switch st := hooks[name]; {
		case st.final != nil:
			c.PutWebhooks = append(c.PutWebhooks, *st.final)
		case st.existed:
			c.RemoveWebhooks = append(c.RemoveWebhooks, name)
		}
	}
	return c
}

// composed is one item's path through the composed steps: whether the first base held it, how
// to name it for removal, and its value at the end (nil: absent).
type composed[R, V any] struct {
	existed bool
	ref     R
	final   *V
}

// track returns the item's entry, created on its first change.
func track[R, V any](m map[string]*composed[R, V], id string, existed bool, ref R) *composed[R, V] {
	st := m[id]
	if st == nil {
		st = &composed[R, V]{existed: existed, ref: ref}
		m[id] = st
	}
	return st
}
