package publish

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

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
}

// step is the exact difference between two consecutively published versions.
type step struct {
	base, target uint64
	baseIssued   int64 // the base version's issued_at, Unix microseconds
	changes      *policy.Changes
	// Keys and revocations the step put that the base did not hold, so that composing a
	// creation with a later removal cancels out instead of removing what the base lacks.
	newKeys, newRevocations map[string]bool
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

// record adds the step from prev to next, or forgets everything when no delta can express it
// (the policy document itself changed).
func (h *history) record(prev, next *Signed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signed = nil
	if prev == nil {
		h.steps = nil
		return
	}
	s, ok := diff(prev.Policy, next.Policy)
	if !ok {
		h.steps = nil
		return
	}
	s.base, s.target, s.baseIssued = prev.Version, next.Version, prev.IssuedAt.UnixMicro()
	if n := len(h.steps); n > 0 && h.steps[n-1].target != s.base {
		h.steps = nil
	}
	h.steps = append(h.steps, s)
	if len(h.steps) > maxSteps {
		h.steps = slices.Delete(h.steps, 0, len(h.steps)-maxSteps)
	}
}

// delta returns the signed delta from base to cur, or nil when the history does not reach
// back to base or the delta would be too large to be worth it.
func (h *history) delta(base uint64, issued int64, hasIssued bool, cur *Signed, sign func([]byte) string) *SignedDelta {
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
	if len(changes.PutKeys)+len(changes.RemoveKeys)+len(changes.PutRevocations)+len(changes.RemoveRevocations) > maxDeltaItems {
		return nil
	}
	payload, err := snapshot.EncodeDelta(&snapshot.Delta{Base: base, Version: cur.Version, IssuedAt: cur.IssuedAt, Changes: changes})
	if err != nil {
		return nil // a full snapshot serves instead
	}
	d := &SignedDelta{Base: base, Version: cur.Version, Payload: payload, Signature: sign(payload)}
	if h.signed == nil {
		h.signed = make(map[uint64]*SignedDelta)
	}
	h.signed[base] = d
	return d
}

// diff is the step from prev to next, or false when they differ in more than keys and
// revocations, or a key id changed its hash (the filter finds keys by hash).
func diff(prev, next *policy.Document) (step, bool) {
	if !sameOutsideKeys(prev, next) {
		return step{}, false
	}
	s := step{changes: &policy.Changes{}, newKeys: map[string]bool{}, newRevocations: map[string]bool{}}
	c := s.changes
	a, b := prev.Keys, next.Keys // both ordered by id (BuildFrom)
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0].ID < b[0].ID):
			c.RemoveKeys = append(c.RemoveKeys, policy.KeyRef{ID: a[0].ID, SHA256: a[0].SHA256})
			a = a[1:]
		case len(a) == 0 || b[0].ID < a[0].ID:
			c.PutKeys = append(c.PutKeys, b[0])
			s.newKeys[b[0].ID] = true
			b = b[1:]
		default:
			if a[0].SHA256 != b[0].SHA256 {
				return step{}, false
			}
			if !sameKey(&a[0], &b[0]) {
				c.PutKeys = append(c.PutKeys, b[0])
			}
			a, b = a[1:], b[1:]
		}
	}
	// The filter holds revoked ids only, so a changed expiry is no change to it.
	old := make(map[string]bool, len(prev.RevokedTokens))
	for _, r := range prev.RevokedTokens {
		old[r.JTI] = true
	}
	for _, r := range next.RevokedTokens {
		if !old[r.JTI] {
			c.PutRevocations = append(c.PutRevocations, r)
			s.newRevocations[r.JTI] = true
		}
		delete(old, r.JTI)
	}
	for jti := range old {
		c.RemoveRevocations = append(c.RemoveRevocations, jti)
	}
	slices.SortFunc(c.PutRevocations, func(a, b policy.Revocation) int { return strings.Compare(a.JTI, b.JTI) })
	slices.Sort(c.RemoveRevocations)
	return s, true
}

// sameOutsideKeys compares everything but keys and revocations, by canonical encoding.
func sameOutsideKeys(a, b *policy.Document) bool {
	return bytes.Equal(encodeOutsideKeys(a), encodeOutsideKeys(b))
}

func encodeOutsideKeys(d *policy.Document) []byte {
	rest := *d
	rest.Keys, rest.RevokedTokens = nil, nil
	out, err := snapshot.Encode(1, time.Unix(1, 0), &rest)
	if err != nil {
		return nil // never equal to a successful encoding: no delta
	}
	return out
}

func sameKey(a, b *policy.Key) bool {
	return a.ID == b.ID && a.Name == b.Name && a.SHA256 == b.SHA256 && a.Active == b.Active &&
		slices.Equal(a.AllowedPaths, b.AllowedPaths) && slices.Equal(a.Permissions, b.Permissions) &&
		a.Admin == b.Admin && a.Staff == b.Staff && a.ExpiresAt.Equal(b.ExpiresAt) && a.Tier == b.Tier
}

// compose turns consecutive steps into the one delta from the first base to the last target,
// in canonical order: the exact difference between those two versions.
func compose(steps []step) *policy.Changes {
	keys := map[string]*composed[policy.KeyRef, policy.Key]{}
	revs := map[string]*composed[string, policy.Revocation]{}
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
