package engine

import (
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
		var ref key
		if err := e.compileKey(&policy.Key{ID: r.ID, SHA256: r.SHA256}, &ref); err != nil {
			return fmt.Errorf("%w: remove_keys[%d]%w", ErrDelta, i, err)
		}
		old := e.lookupKey(ref.hash)
		if old == nil || old.identity.KeyID != r.ID {
			return fmt.Errorf("%w: remove_keys[%d] (%q) is not in force", ErrDelta, i, r.ID)
		}
		removes[i] = old
	}
	puts := make([]key, len(c.PutKeys)) // one allocation for every new key
	for i := range c.PutKeys {
		k, ck := &c.PutKeys[i], &puts[i]
		if err := e.compileKey(k, ck); err != nil {
			return fmt.Errorf("%w: put_keys[%d]%w", ErrDelta, i, err)
		}
		if k.Tier != "" && e.tiers[k.Tier] == nil {
			return fmt.Errorf("%w: put_keys[%d].tier names no tier of the policy in force (%q)", ErrDelta, i, k.Tier)
		}
		if ck.usesGlobalLimits() && !e.usesGlobal {
			// The host sets up the global rate-limit service only when a policy needs it.
			return fmt.Errorf("%w: put_keys[%d] needs the global rate-limit service, which the policy in force does not use", ErrDelta, i)
		}
		if old := e.lookupKey(ck.hash); old != nil && old.identity.KeyID != k.ID && !removing(removes, old) {
			return fmt.Errorf("%w: put_keys[%d].sha256 belongs to another key in force", ErrDelta, i)
		}
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

	// Nothing below can fail.
	for _, old := range removes {
		e.removeKey(old.hash)
	}
	for i := range puts {
		e.putKey(&puts[i])
	}
	for _, jti := range c.RemoveRevocations {
		e.removeRevocation(jti)
	}
	for _, v := range c.PutRevocations {
		e.putRevocation(v.JTI)
	}
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

// lookupKey, putKey and removeKey are the key table's whole interface to deltas.
func (e *Engine) lookupKey(hash [32]byte) *key { return e.keys[hash] }
func (e *Engine) putKey(k *key)                { e.keys[k.hash] = k }
func (e *Engine) removeKey(hash [32]byte)      { delete(e.keys, hash) }

func (e *Engine) putRevocation(jti string) {
	if e.revoked == nil {
		e.revoked = make(map[string]struct{})
	}
	e.revoked[jti] = struct{}{}
}

func (e *Engine) removeRevocation(jti string) { delete(e.revoked, jti) }
