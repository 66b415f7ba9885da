package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

const deltaPolicy = `{"version": 1, "routes": [{"name": "api", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}],
 "rate_limit_tiers": [{"name": "gold", "limits": [{"rate": 100, "per": "minute"}]}],
 "revoked_tokens": [{"jti": "old-token", "expires_at": "2099-01-01T00:00:00Z"}],
 "keys": [
  {"id": "alpha", "sha256": "` + "%ALPHA%" + `"},
  {"id": "beta", "sha256": "` + "%BETA%" + `"}]}`

func hashOf(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

func deltaEngine(t *testing.T) *engine.Engine {
	t.Helper()
	doc := deltaPolicy
	for k, v := range map[string]string{"%ALPHA%": hashOf("key-alpha"), "%BETA%": hashOf("key-beta")} {
		doc = strings.ReplaceAll(doc, k, v)
	}
	return compile(t, doc)
}

// statusFor is what a client presenting secret on path gets.
func statusFor(e *engine.Engine, secret, path string) int {
	d := e.Decide(&engine.Request{Method: "GET", Authority: "api.example.com", Path: path, Headers: [][2]string{{"x-api-key", secret}}, Now: time.Now()})
	if d.Allow {
		return 200
	}
	return d.Status
}

func TestApplyDelta(t *testing.T) {
	gamma := policy.Key{ID: "gamma", SHA256: hashOf("key-gamma"), Active: true}
	for _, tc := range []struct {
		name    string
		changes policy.Changes
		wantErr bool
		// after the delta (or after its refusal): secret → path → status
		want map[string]map[string]int
	}{
		{
			name:    "create",
			changes: policy.Changes{PutKeys: []policy.Key{gamma}},
			want:    map[string]map[string]int{"key-gamma": {"/x": 200}, "key-alpha": {"/x": 200}},
		},
		{
			name:    "revoke",
			changes: policy.Changes{RemoveKeys: []policy.KeyRef{{ID: "beta", SHA256: hashOf("key-beta")}}},
			want:    map[string]map[string]int{"key-beta": {"/x": 401}, "key-alpha": {"/x": 200}},
		},
		{
			name:    "update",
			changes: policy.Changes{PutKeys: []policy.Key{{ID: "alpha", SHA256: hashOf("key-alpha"), Active: true, AllowedPaths: []string{"/only"}}}},
			want:    map[string]map[string]int{"key-alpha": {"/only/a": 200, "/x": 403}},
		},
		{
			name:    "deactivate",
			changes: policy.Changes{PutKeys: []policy.Key{{ID: "alpha", SHA256: hashOf("key-alpha"), Active: false}}},
			want:    map[string]map[string]int{"key-alpha": {"/x": 401}},
		},
		{
			name: "removal of a key not in force refuses the whole delta",
			changes: policy.Changes{PutKeys: []policy.Key{gamma},
				RemoveKeys: []policy.KeyRef{{ID: "beta", SHA256: hashOf("key-beta")}, {ID: "zeta", SHA256: hashOf("key-zeta")}}},
			wantErr: true,
			want:    map[string]map[string]int{"key-gamma": {"/x": 401}, "key-beta": {"/x": 200}},
		},
		{
			name:    "removal naming another key's hash",
			changes: policy.Changes{RemoveKeys: []policy.KeyRef{{ID: "alpha", SHA256: hashOf("key-beta")}}},
			wantErr: true,
			want:    map[string]map[string]int{"key-alpha": {"/x": 200}, "key-beta": {"/x": 200}},
		},
		{
			name:    "put of a hash another key holds",
			changes: policy.Changes{PutKeys: []policy.Key{{ID: "gamma", SHA256: hashOf("key-beta"), Active: true}}},
			wantErr: true,
			want:    map[string]map[string]int{"key-beta": {"/x": 200}},
		},
		{
			name:    "unknown tier",
			changes: policy.Changes{PutKeys: []policy.Key{{ID: "gamma", SHA256: hashOf("key-gamma"), Active: true, Tier: "platinum"}}},
			wantErr: true,
			want:    map[string]map[string]int{"key-gamma": {"/x": 401}},
		},
		{
			name:    "revocation added twice",
			changes: policy.Changes{PutKeys: []policy.Key{gamma}, PutRevocations: []policy.Revocation{{JTI: "old-token", ExpiresAt: time.Now()}}},
			wantErr: true,
			want:    map[string]map[string]int{"key-gamma": {"/x": 401}},
		},
		{
			name:    "removal of a revocation not in force",
			changes: policy.Changes{PutKeys: []policy.Key{gamma}, RemoveRevocations: []string{"never"}},
			wantErr: true,
			want:    map[string]map[string]int{"key-gamma": {"/x": 401}},
		},
		{
			name:    "revocations added and removed",
			changes: policy.Changes{PutKeys: []policy.Key{gamma}, RemoveRevocations: []string{"old-token"}, PutRevocations: []policy.Revocation{{JTI: "new", ExpiresAt: time.Now()}}},
			want:    map[string]map[string]int{"key-gamma": {"/x": 200}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := deltaEngine(t)
			before := e.KeyCount()
			err := e.Apply(&tc.changes)
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, engine.ErrDelta)) {
				t.Fatalf("Apply: %v, want error %v", err, tc.wantErr)
			}
			if err != nil && e.KeyCount() != before {
				t.Fatalf("a refused delta changed the key count: %d → %d", before, e.KeyCount())
			}
			for secret, paths := range tc.want {
				for path, want := range paths {
					if got := statusFor(e, secret, path); got != want {
						t.Errorf("%s on %s: status %d, want %d", secret, path, got, want)
					}
				}
			}
		})
	}
}

// TestApplyTwiceIsRefused: a duplicated delta is caught by the engine as well as by the version
// check before it (a removal cannot apply twice).
func TestApplyTwiceIsRefused(t *testing.T) {
	e := deltaEngine(t)
	c := &policy.Changes{RemoveKeys: []policy.KeyRef{{ID: "beta", SHA256: hashOf("key-beta")}}}
	if err := e.Apply(c); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(c); !errors.Is(err, engine.ErrDelta) {
		t.Fatalf("second Apply: %v, want ErrDelta", err)
	}
}
