package engine

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/internal/testpolicy"
)

// keyRequest is a request with API key k to the only route of testpolicy.Large(n, 1).
func keyRequest(k string, now time.Time) *Request {
	return &Request{Method: "GET", Authority: "svc0.example.com", Path: "/svc/0/items",
		Headers: [][2]string{{"x-api-key", k}}, Now: now}
}

// TestKeyCache shows that the presented-key cache changes no decision: each step is one
// request, in order, against one Engine, whose cache the earlier steps filled.
func TestKeyCache(t *testing.T) {
	e, err := Compile(testpolicy.Large(20, 1))
	if err != nil {
		t.Fatal(err)
	}
	// A fixed hash key, so the keys below land in distinct slots in every run.
	e.presented.k0, e.presented.k1 = 1, 2
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	expiry := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) // every key's in testpolicy.Large
	key1 := testpolicy.RawKey(1)
	for _, step := range []struct {
		name   string
		key    string
		now    time.Time
		code   string // "" for allowed
		keyID  string
		cached int // entries after the step
	}{
		{"first use: found by SHA-256, stored", key1, now, "", "key_0000000000000001", 1},
		{"second use: from the cache, same identity", key1, now, "", "key_0000000000000001", 1},
		{"another key", testpolicy.RawKey(2), now, "", "key_0000000000000002", 2},
		{"the cached key with one more byte", key1 + "x", now, "invalid_credentials", "", 2},
		{"the cached key one byte short", key1[:len(key1)-1], now, "invalid_credentials", "", 2},
		{"the cached key in upper case", "PCS_KEY_1", now, "invalid_credentials", "", 2},
		{"an unknown key is not stored", "pcs_key_unknown", now, "invalid_credentials", "", 2},
		{"an inactive key is refused", testpolicy.RawKey(10), now, "invalid_credentials", "", 3},
		{"an inactive key is refused again, from the cache", testpolicy.RawKey(10), now, "invalid_credentials", "", 3},
		{"a cached key past its expiry is refused", key1, expiry, "invalid_credentials", "", 3},
		{"and allowed again at a time before it (the cache holds no decision)", key1, now, "", "key_0000000000000001", 3},
	} {
		d := e.Decide(keyRequest(step.key, step.now))
		if step.code == "" && (!d.Allow || d.KeyID != step.keyID) {
			t.Errorf("%s: allow=%v code=%s key=%q, want allowed as %q", step.name, d.Allow, d.Code, d.KeyID, step.keyID)
		}
		if step.code != "" && (d.Allow || d.Code != step.code) {
			t.Errorf("%s: allow=%v code=%s, want %s", step.name, d.Allow, d.Code, step.code)
		}
		if n := e.presented.len(); n != step.cached {
			t.Errorf("%s: %d cached keys, want %d", step.name, n, step.cached)
		}
	}
}

// TestKeyCacheEviction sends more distinct valid keys than the cache has slots, twice: newer
// keys replace older ones in their slots, and every key is still decided as without the cache.
func TestKeyCacheEviction(t *testing.T) {
	n := keyCacheSlots*2 + 10
	e, err := Compile(testpolicy.Large(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 2 {
		for i := range n {
			d := e.Decide(keyRequest(testpolicy.RawKey(i), now))
			if want := i%10 != 0; d.Allow != want || (want && d.KeyID != fmt.Sprintf("key_%016d", i)) {
				t.Fatalf("round %d key %d: allow=%v (%s) as %q, want %v", round, i, d.Allow, d.Code, d.KeyID, want)
			}
		}
	}
}

// TestKeyCachePerEngine: each compiled Engine (each snapshot) starts with an empty cache under
// a hash key of its own, so a key one snapshot cached is looked up afresh in the next.
func TestKeyCachePerEngine(t *testing.T) {
	doc := testpolicy.Large(5, 1)
	a, err := Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := a.Decide(keyRequest(testpolicy.RawKey(1), now)); !d.Allow {
		t.Fatalf("setup: %s", d.Code)
	}
	doc.Keys[1].Active = false // the next snapshot revokes key 1
	b, err := Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if b.presented.len() != 0 {
		t.Errorf("a new Engine starts with %d cached keys", b.presented.len())
	}
	if b.presented.k0 == a.presented.k0 && b.presented.k1 == a.presented.k1 {
		t.Error("two Engines share a hash key")
	}
	if d := b.Decide(keyRequest(testpolicy.RawKey(1), now)); d.Allow || d.Code != "invalid_credentials" {
		t.Errorf("revoked key in the next snapshot: allow=%v code=%s, want invalid_credentials", d.Allow, d.Code)
	}
}

// TestKeyCacheConcurrent decides from several goroutines at once on one Engine, as the
// control server's dry runs may: with -race it shows the cache needs no lock, and every
// decision stays right while slots are filled and replaced under the readers.
func TestKeyCacheConcurrent(t *testing.T) {
	n := keyCacheSlots + 100 // some slots are replaced while others read them
	e, err := Compile(testpolicy.Large(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range n {
				k := (i*7 + g*131) % n
				d := e.Decide(keyRequest(testpolicy.RawKey(k), now))
				if want := k%10 != 0; d.Allow != want || (want && d.KeyID != fmt.Sprintf("key_%016d", k)) {
					t.Errorf("goroutine %d key %d: allow=%v as %q, want %v", g, k, d.Allow, d.KeyID, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
