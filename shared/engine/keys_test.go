package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

const keysPolicy = `{"version":1,"routes":[
 {"name":"admin","match":{"path_prefix":"/admin/"},"auth":{"type":"api_key"},"permissions":{"all":["admin:write"]}},
 {"name":"api","match":{"path_prefix":"/"},"auth":{"type":"api_key"}}],
 "keys":[{"id":"k-table","sha256":"%s","permissions":["read"]}]}`

func hashHex(raw string) string {
	s := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(s[:])
}

func keysEngine(t testing.TB) *Engine {
	t.Helper()
	return compileDoc(t, fmt.Sprintf(keysPolicy, hashHex("table-key")))
}

// status is what a client presenting raw on path sees, and the key id the upstream learns.
func status(e *Engine, raw, path string) (int, string) {
	d := e.Decide(&Request{Method: "GET", Authority: "a.example", Path: path, Headers: [][2]string{{"x-api-key", raw}}, Now: time.Now()})
	if d.Allow {
		return 200, d.KeyID
	}
	return d.Status, d.KeyID
}

// Deltas (Apply → putKey, removeKey) change what the next request sees, for keys of the table and keys put
// since, and KeyCount follows. Each step decides before the next change, so the presented-key
// cache holds the key as it was: a change must reach the next request all the same.
func TestPutAndRemoveKey(t *testing.T) {
	e := keysEngine(t)
	type step struct {
		name  string
		do    func() error
		raw   string
		path  string
		want  int
		keyID string
		count int
	}
	put := func(k policy.Key) func() error {
		return func() error { return e.Apply(&policy.Changes{PutKeys: []policy.Key{k}}) }
	}
	// remove removes the key id with the hash of raw; a key not in force is refused whole.
	remove := func(id, raw string, inForce bool) func() error {
		return func() error {
			err := e.Apply(&policy.Changes{RemoveKeys: []policy.KeyRef{{ID: id, SHA256: hashHex(raw)}}})
			if !inForce && errors.Is(err, ErrDelta) {
				return nil
			}
			if !inForce && err == nil {
				return fmt.Errorf("removed a key not in force")
			}
			return err
		}
	}
	for _, s := range []step{
		{"table key", nil, "table-key", "/x", 200, "k-table", 1},
		{"unknown key", nil, "new-key", "/x", 401, "", 1},
		{"put a new key", put(policy.Key{ID: "k-new", SHA256: hashHex("new-key"), Active: true}), "new-key", "/x", 200, "k-new", 2},
		{"the new key lacks a permission", nil, "new-key", "/admin/x", 403, "k-new", 2},
		{"replace it with the permission", put(policy.Key{ID: "k-new", SHA256: hashHex("new-key"), Active: true, Permissions: []string{"admin:write"}}), "new-key", "/admin/x", 200, "k-new", 2},
		{"replace a table key: inactive", put(policy.Key{ID: "k-table", SHA256: hashHex("table-key")}), "table-key", "/x", 401, "", 2},
		{"replace it again: expired", put(policy.Key{ID: "k-table", SHA256: hashHex("table-key"), Active: true, ExpiresAt: time.Now().Add(-time.Second)}), "table-key", "/x", 401, "", 2},
		{"active again", put(policy.Key{ID: "k-table", SHA256: hashHex("table-key"), Active: true}), "table-key", "/x", 200, "k-table", 2},
		{"remove the table key", remove("k-table", "table-key", true), "table-key", "/x", 401, "", 1},
		{"remove it twice", remove("k-table", "table-key", false), "table-key", "/x", 401, "", 1},
		{"remove the new key", remove("k-new", "new-key", true), "new-key", "/x", 401, "", 0},
		{"put the table key back", put(policy.Key{ID: "k-back", SHA256: hashHex("table-key"), Active: true}), "table-key", "/x", 200, "k-back", 1},
		{"remove an unknown key", remove("k-never", "never", false), "table-key", "/x", 200, "k-back", 1},
	} {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if got, id := status(e, s.raw, s.path); got != s.want || id != s.keyID {
			t.Fatalf("%s: status %d key %q, want %d %q", s.name, got, id, s.want, s.keyID)
		}
		if n := e.KeyCount(); n != s.count {
			t.Fatalf("%s: KeyCount %d, want %d", s.name, n, s.count)
		}
	}
}

func TestPutAndRemoveKeyRefuseBadHashes(t *testing.T) {
	e := keysEngine(t)
	if err := e.Apply(&policy.Changes{PutKeys: []policy.Key{{ID: "x", SHA256: "abc"}}}); err == nil {
		t.Error("a delta put a key with a short hash")
	}
	if err := e.Apply(&policy.Changes{RemoveKeys: []policy.KeyRef{{ID: "x", SHA256: "zz"}}}); err == nil {
		t.Error("a delta removed a key by a short hash")
	}
	if n := e.KeyCount(); n != 1 {
		t.Errorf("KeyCount %d after refusals", n)
	}
}

// More distinct keys than the cache holds all authenticate, and the cache stays bounded.
func TestKeyCacheIsBounded(t *testing.T) {
	doc := &policy.Document{Version: 1, DefaultAction: policy.ActionDeny, DefaultLimits: policy.DefaultLimitsValue(),
		Routes: []policy.Route{{Name: "api", Match: policy.Match{PathPrefix: "/"}, Auth: policy.Auth{Type: policy.AuthAPIKey}, Limits: policy.DefaultLimitsValue()}}}
	n := maxCachedKeys + 100
	for i := range n {
		doc.Keys = append(doc.Keys, policy.Key{ID: fmt.Sprintf("k%d", i), SHA256: hashHex(fmt.Sprint(i)), Active: true})
	}
	e, err := Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range n {
			if got, id := status(e, fmt.Sprint(i), "/x"); got != 200 || id != fmt.Sprintf("k%d", i) {
				t.Fatalf("round %d key %d: status %d id %q", round, i, got, id)
			}
			if c := len(e.keys.cache); c > maxCachedKeys {
				t.Fatalf("cache holds %d keys, bound %d", c, maxCachedKeys)
			}
		}
	}
}
