package publish

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Head is the published version: the one polls are answered from, as a delta at once and as a
// full snapshot once that is built (Publisher.Full). It is immutable.
//
// # Notes
//
// Why a head apart from the full snapshot: a one-key change at 1,000,000 keys costs the control
// server seconds as a full snapshot (encode, validate, compile, sign: O(keys)) and
// milliseconds as a delta (read the changed rows, encode and sign a few hundred bytes). The
// head is published from the write alone, so a filter that holds the previous version gets the
// change without waiting for the full snapshot, which is built next, off the poll path, for
// filters that need one (a cold start, a base the history no longer reaches) and for dry runs.
type Head struct {
	Version  uint64
	IssuedAt time.Time
	// doc is the document without keys (revocations, verifiers and fetched key sets in);
	// outside is its canonical encoding without revocations and verifiers, which tells
	// whether the next version can be a delta.
	doc     *policy.Document
	outside []byte
	// keys is how many keys the version holds, so that a step that would hold more than a
	// snapshot can is refused as a full build would be.
	keys int
}

// newHead is the head of version whose document without keys is doc; its key count is set by
// the caller once known.
func newHead(version uint64, issuedAt time.Time, doc *policy.Document) *Head {
	return &Head{Version: version, IssuedAt: issuedAt.UTC(), doc: doc, outside: encodeOutsideKeys(doc)}
}

// keysAfter is how many keys the step from h leaves.
func (h *Head) keysAfter(s *step) int {
	n := h.keys - len(s.changes.RemoveKeys)
	for _, created := range s.newKeys {
		if created {
			n++
		}
	}
	return n
}

// sameOutside reports whether next's document differs from the head's only in keys,
// revocations and verifiers.
func (h *Head) sameOutside(next *Head) bool {
	return h.outside != nil && bytes.Equal(h.outside, next.outside)
}

// checkKeyCount refuses a version that holds more keys than a snapshot can.
func (h *Head) checkKeyCount() error {
	if h.keys > policy.MaxKeys {
		return fmt.Errorf("build snapshot %d: %d keys (a snapshot holds at most %d)", h.Version, h.keys, policy.MaxKeys)
	}
	return nil
}

// encodeOutsideKeys is the canonical encoding of everything but keys, revocations and verifiers
// (nil if it cannot be encoded: then never equal, and no delta).
func encodeOutsideKeys(d *policy.Document) []byte {
	rest := *d
	rest.Keys, rest.RevokedTokens, rest.Webhooks = nil, nil, nil
	out, err := snapshot.Encode(1, time.Unix(1, 0), &rest)
	if err != nil {
		return nil
	}
	return out
}

// stepFromWrite is the step from head to next: the keys the versions in between created,
// changed or revoked (read from the store), and the differences of the two revocation lists and
// of the two verifier lists. A key created and revoked in between is none of the step's
// business: head never held it.
func stepFromWrite(head, next *Head, changed []store.KeyChange) step {
	doc := next.doc
	s := step{base: head.Version, target: next.Version, baseIssued: head.IssuedAt.UnixMicro(), changes: &policy.Changes{},
		newKeys: map[string]bool{}, newRevocations: map[string]bool{}, newWebhooks: map[string]bool{}}
	c := s.changes
	for i := range changed { // ordered by id
		k := &changed[i]
		switch existed := k.CreatedVersion <= head.Version; {
		case k.RevokedAt.IsZero():
			c.PutKeys = append(c.PutKeys, policyKey(&k.Key))
			s.newKeys[k.ID] = !existed
		case existed:
			c.RemoveKeys = append(c.RemoveKeys, policy.KeyRef{ID: k.ID, SHA256: k.SHA256})
		}
	}
	// The filter holds revoked ids only, so a changed expiry is no change to it.
	old := make(map[string]bool, len(head.doc.RevokedTokens))
	for _, r := range head.doc.RevokedTokens {
		old[r.JTI] = true
	}
	for _, r := range doc.RevokedTokens {
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
	// Verifiers by name: a new or changed one is put (a rotated secret), a gone one removed.
	hooks := make(map[string]*policy.Webhook, len(head.doc.Webhooks))
	for i := range head.doc.Webhooks {
		hooks[head.doc.Webhooks[i].Name] = &head.doc.Webhooks[i]
	}
	for _, w := range doc.Webhooks {
		old, had := hooks[w.Name]
		if !had || *old != w {
			c.PutWebhooks = append(c.PutWebhooks, w)
			s.newWebhooks[w.Name] = !had
		}
		delete(hooks, w.Name)
	}
	for name := range hooks {
		c.RemoveWebhooks = append(c.RemoveWebhooks, name)
	}
	slices.SortFunc(c.PutWebhooks, func(a, b policy.Webhook) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(c.RemoveWebhooks)
	return s
}

// applyKeyChanges returns keys (ordered by id) with c's keys put and removed, ordered by id:
// the next version's key list, built from the last full snapshot's without reading the store.
func applyKeyChanges(keys []policy.Key, c *policy.Changes) []policy.Key {
	out := make([]policy.Key, 0, len(keys)+len(c.PutKeys))
	puts, removes := c.PutKeys, c.RemoveKeys // ordered by id (compose)
	for _, k := range keys {
		for len(puts) > 0 && puts[0].ID < k.ID {
			out = append(out, puts[0])
			puts = puts[1:]
		}
		for len(removes) > 0 && removes[0].ID < k.ID {
			removes = removes[1:]
		}
		switch {
		case len(puts) > 0 && puts[0].ID == k.ID:
			out = append(out, puts[0])
			puts = puts[1:]
		case len(removes) > 0 && removes[0].ID == k.ID:
			removes = removes[1:]
		default:
			out = append(out, k)
		}
	}
	return append(out, puts...)
}
