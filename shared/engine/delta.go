package engine

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/shared/policy"
)

// ErrDelta means a delta does not apply to this engine: it removes a key or revocation the
// engine does not hold, adds one it already holds, or needs something only a full snapshot sets
// up. The engine is unchanged; the caller keeps it and asks for a full snapshot.
var ErrDelta = errors.New("delta does not apply to the policy in force")

// Apply changes e in place by c, all or nothing: every change is checked and compiled first,
// and only then are the tables changed, by steps that cannot fail. A request therefore sees the
// engine before or after the delta, never between, as long as no request runs during Apply.
//
// # Notes
//
// Apply breaks the rule that an Engine is immutable, deliberately: copying a table of a million
// keys to change one would cost what a full snapshot costs. It is for the filter, whose VM runs
// one callback at a time; a host that runs requests concurrently must not call it on an engine
// in use (the control server never does). Requests that already hold a key keep it: a put
// replaces the entry with a new key rather than changing the old one.
//
// Every key mutation goes through lookupKey, putKey and removeKey, so the key table can change
// representation without touching the delta logic.
func (e *Engine) Apply(c *policy.Changes) error {
	removes := make([]*key, len(c.RemoveKeys))
	for i, r := range c.RemoveKeys {
		var h [32]byte
		if n, err := hex.Decode(h[:], []byte(r.SHA256)); err != nil || n != 32 || len(r.SHA256) != 64 {
			return fmt.Errorf("%w: remove_keys[%d].sha256 is not 64 hex digits", ErrDelta, i)
		}
		old := e.lookupKey(&h)
		if old == nil || old.identity.KeyID != r.ID {
			return fmt.Errorf("%w: remove_keys[%d] (%q) is not in force", ErrDelta, i, r.ID)
		}
		removes[i] = old
	}
	puts := make([]*key, len(c.PutKeys))
	for i := range c.PutKeys {
		k := &c.PutKeys[i]
		ck, err := e.compilePut(k)
		if err != nil {
			return fmt.Errorf("%w: put_keys[%d]: %w", ErrDelta, i, err)
		}
		if old := e.lookupKey(&ck.hash); old != nil && old.identity.KeyID != k.ID && !removing(removes, old) {
			return fmt.Errorf("%w: put_keys[%d].sha256 belongs to another key in force", ErrDelta, i)
		}
		puts[i] = ck
	}
	for i, jti := range c.RemoveRevocations {
		if !e.isRevoked(jti) {
			return fmt.Errorf("%w: remove_revocations[%d] is not revoked", ErrDelta, i)
		}
	}
	for i, v := range c.PutRevocations {
		if e.isRevoked(v.JTI) {
			return fmt.Errorf("%w: put_revocations[%d] is already revoked", ErrDelta, i)
		}
	}
	verifiers, err := e.compileWebhookChanges(c)
	if err != nil {
		return err
	}

	// Nothing below can fail.
	for _, old := range removes {
		e.removeKey(old.hash)
	}
	for _, k := range puts {
		e.putKey(k)
	}
	if len(removes)+len(puts) > 0 {
		// The presented-key cache points at the keys as they were; without this a revoked or
		// suspended key would still authenticate from it.
		e.presented.reset()
	}
	for _, jti := range c.RemoveRevocations {
		e.removeRevocation(jti)
	}
	for _, v := range c.PutRevocations {
		e.putRevocation(v.JTI)
	}
	e.applyWebhookChanges(c, verifiers)
	return nil
}

func removing(removes []*key, k *key) bool {
	for _, r := range removes {
		if r == k {
			return true
		}
	}
	return false
}

// lookupKey, putKey and removeKey (keys.go) are the key table's whole interface to deltas.
func (e *Engine) lookupKey(h *[32]byte) *key { return e.findKey(h) }

func (e *Engine) putRevocation(jti string) {
	if e.revoked == nil {
		e.revoked = make(map[string]struct{})
	}
	e.revoked[jti] = struct{}{}
}

func (e *Engine) removeRevocation(jti string) { delete(e.revoked, jti) }

// compilePut is compileKey for a key a delta puts: its tier must be one of the policy in
// force. compileKey also refuses a tier counted by the global rate-limit service when the
// policy in force does not use it: the host sets that service up only for such policies.
func (e *Engine) compilePut(k *policy.Key) (*key, error) {
	if k.Tier != "" && e.tiers[k.Tier] == nil {
		return nil, fmt.Errorf("key %q: tier names no tier of the policy in force (%q)", k.ID, k.Tier)
	}
	return e.compileKey(k)
}
