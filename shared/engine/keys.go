package engine

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
)

// keySet is the engine's API keys: a key table read in place (the snapshot's, or one built
// from the document's keys), plus the keys put or removed since (putKey, removeKey: delta
// snapshots). A key found in the table becomes a *key — its identity with the upstream headers
// and tier, built once — on its first request, and stays in a bounded cache; that way the
// table holds a million keys in ~150 bytes each while a request for a known key allocates
// nothing.
type keySet struct {
	table *keytable.Table

	mu    sync.Mutex        // guards what follows: requests and deltas may run concurrently natively
	cache map[int32]*key    // materialized table records by index, at most maxCachedKeys
	over  map[[32]byte]*key // keys put since the table was built; a nil value means removed
	count int
}

// maxCachedKeys bounds the materialized keys per engine (each is a few hundred bytes). When
// it is full the cache starts over: a VM serving more distinct keys than this between two
// snapshots rebuilds identities more often, it does not grow.
const maxCachedKeys = 4096

// errKeyTier is putKey's refusal of a key whose tier the engine was not set up for.
var errKeyTier = errors.New("the key's tier counts with the global rate-limit service, which this policy does not use; apply a full snapshot")

func newKeySet(t *keytable.Table) *keySet {
	return &keySet{table: t, cache: make(map[int32]*key), count: t.Len()}
}

// find returns the key whose hash is sum, or nil.
func (e *Engine) findKey(sum *[32]byte) *key {
	s := e.keys
	s.mu.Lock()
	if len(s.over) > 0 {
		if k, ok := s.over[*sum]; ok {
			s.mu.Unlock()
			// The map is keyed by the hash, so a hit already means equal hashes; the
			// constant-time compare keeps the check explicit (as keytable.Find does).
			if k == nil || subtle.ConstantTimeCompare(k.hash[:], sum[:]) != 1 {
				return nil
			}
			return k
		}
	}
	i := s.table.Find(sum)
	if i < 0 {
		s.mu.Unlock()
		return nil
	}
	k := s.cache[int32(i)]
	if k == nil {
		k = e.materialize(s.table.At(i))
		if len(s.cache) >= maxCachedKeys {
			clear(s.cache)
		}
		s.cache[int32(i)] = k
	}
	s.mu.Unlock()
	return k
}

// materialize builds the compiled key of a table record. Its strings share the table's pool.
func (e *Engine) materialize(r keytable.Key) *key {
	k := &key{hash: r.Hash(), active: r.Active(), expires: r.ExpiresAt(), allowed: keytable.Split(r.AllowedPaths(), ' ')}
	k.identity = Identity{Method: "api_key", KeyID: r.ID(), Name: r.Name(), Permissions: keytable.Split(r.Permissions(), ','), Admin: r.Admin(), Staff: r.Staff()}
	k.identity.buildUpstream()
	k.identity.tier = e.tierOf(r.TierName())
	return k
}

// compileKey builds the compiled key of a policy key (putKey).
func (e *Engine) compileKey(pk *policy.Key) (*key, error) {
	k := &key{active: pk.Active, expires: pk.ExpiresAt, allowed: pk.AllowedPaths}
	if n, err := hex.Decode(k.hash[:], []byte(pk.SHA256)); err != nil || n != 32 || len(pk.SHA256) != 64 {
		return nil, fmt.Errorf("key %q: sha256 is not 64 hex digits", pk.ID)
	}
	k.identity = Identity{Method: "api_key", KeyID: pk.ID, Name: pk.Name, Permissions: pk.Permissions, Admin: pk.Admin, Staff: pk.Staff}
	k.identity.buildUpstream()
	k.identity.tier = e.tierOf(pk.Tier)
	for _, l := range k.identity.tier {
		if l.global && !e.usesGlobal {
			return nil, fmt.Errorf("key %q: %w", pk.ID, errKeyTier)
		}
	}
	return k, nil
}

// putKey adds k, or replaces the key with its hash, in place: the next request sees it, a
// request already authenticated keeps the key it found. k comes from compileKey. Cost: one map
// insert, whatever the number of keys.
//
// # Notes
//
// For delta snapshots (Apply), which change the engine between requests on the VM's only
// thread.
func (e *Engine) putKey(k *key) {
	s := e.keys
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.presentLocked(&k.hash) {
		s.count++
	}
	if s.over == nil {
		s.over = make(map[[32]byte]*key)
	}
	s.over[k.hash] = k
}

// removeKey removes the key whose SHA-256 is h in place, and reports whether there was one.
// Cost: one map insert, whatever the number of keys.
func (e *Engine) removeKey(h [32]byte) bool {
	s := e.keys
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.presentLocked(&h) {
		return false
	}
	s.count--
	if s.table.Find(&h) >= 0 {
		if s.over == nil {
			s.over = make(map[[32]byte]*key)
		}
		s.over[h] = nil // shadows the table's record
	} else {
		delete(s.over, h)
	}
	return true
}

func (s *keySet) presentLocked(h *[32]byte) bool {
	if k, ok := s.over[*h]; ok {
		return k != nil
	}
	return s.table.Find(h) >= 0
}
