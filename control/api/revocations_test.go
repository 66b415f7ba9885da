package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// A revocation is created, listed, published in the next snapshot, audited and removed; bad
// input is refused with the field named.
func TestRevocationLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		// The env's clock is 2030-01-02T03:04:05Z.
		r := e.do("POST", "/v1/revocations", adminToken, map[string]any{"jti": "j-1", "expires_at": "2030-01-03T00:00:00Z"})
		created := expect(t, r, http.StatusCreated, "")
		if created["jti"] != "j-1" || created["expires_at"] != "2030-01-03T00:00:00Z" || created["created_by"] == "" {
			t.Fatalf("created = %v", created)
		}
		v := versionHeader(t, r)
		e.waitVersion(v)
		snap := e.snapshotNow()
		if got := snap.Policy.RevokedTokens; len(got) != 1 || got[0].JTI != "j-1" {
			t.Fatalf("snapshot revoked_tokens = %+v", got)
		}
		expect(t, e.do("POST", "/v1/revocations", adminToken, map[string]any{"jti": "j-1", "expires_at": "2030-01-03T00:00:00Z"}), http.StatusConflict, "conflict")
		list := expect(t, e.do("GET", "/v1/revocations", e.readOnly, nil), http.StatusOK, "")
		if l := list["revocations"].([]any); len(l) != 1 || l[0].(map[string]any)["jti"] != "j-1" {
			t.Fatalf("list = %v", list)
		}
		audit := e.do("GET", "/v1/audit", adminToken, nil)
		if !strings.Contains(string(audit.body), `"revocation.create"`) {
			t.Fatalf("no audit entry: %s", audit.body)
		}
		expect(t, e.do("POST", "/v1/revocations", e.readOnly, map[string]any{"jti": "j-2", "expires_at": "2030-01-03T00:00:00Z"}), http.StatusForbidden, "")

		r = e.do("DELETE", "/v1/revocations/j-1", adminToken, nil)
		if r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		e.waitVersion(versionHeader(t, r))
		if got := e.snapshotNow().Policy.RevokedTokens; len(got) != 0 {
			t.Fatalf("after delete: %+v", got)
		}
		expect(t, e.do("DELETE", "/v1/revocations/j-1", adminToken, nil), http.StatusNotFound, "not_found")
	})
}

func TestRevocationInputErrors(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, tt := range []struct {
		name  string
		body  any
		field string
	}{
		{"no jti", map[string]any{"expires_at": "2030-01-03T00:00:00Z"}, "jti"},
		{"empty jti", map[string]any{"jti": "", "expires_at": "2030-01-03T00:00:00Z"}, "jti"},
		{"no expiry", map[string]any{"jti": "a"}, "expires_at"},
		{"already expired", map[string]any{"jti": "a", "expires_at": "2030-01-01T00:00:00Z"}, "expires_at"},
		{"too far ahead", map[string]any{"jti": "a", "expires_at": "2032-01-01T00:00:00Z"}, "expires_at"},
		{"unknown field", map[string]any{"jti": "a", "expires_at": "2030-01-03T00:00:00Z", "sub": "x"}, "sub"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := expect(t, e.do("POST", "/v1/revocations", adminToken, tt.body), http.StatusUnprocessableEntity, "invalid_request")
			if d := m["details"].([]any); len(d) == 0 || d[0].(map[string]any)["field"] != tt.field {
				t.Fatalf("details = %v, want field %q", m["details"], tt.field)
			}
		})
	}
}

// A snapshot carries at most policy.MaxRevokedTokens revocations: with that many unexpired,
// one more is refused with 409 too_many_revocations (and nothing is published); once one has
// expired it is pruned and the new one is accepted.
func TestRevocationCap(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	ctx := context.Background()
	now := e.clock.Now()
	err := e.store.Write(ctx, func(tx store.Tx) error {
		for i := range policy.MaxRevokedTokens {
			exp := now.Add(48 * time.Hour)
			if i == 0 {
				exp = now.Add(time.Hour) // the first to expire
			}
			if err := tx.InsertRevocation(ctx, store.Revocation{JTI: fmt.Sprintf("j-%05d", i), ExpiresAt: exp, CreatedAt: now, CreatedBy: "test"}); err != nil {
				return err
			}
		}
		_, err := tx.BumpVersion(ctx, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	version := func() uint64 {
		var st store.State
		e.store.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.State(ctx); return })
		return st.Version
	}
	before := version()
	one := map[string]any{"jti": "j-more", "expires_at": now.Add(24 * time.Hour).Format(time.RFC3339)}
	r := e.do("POST", "/v1/revocations", adminToken, one)
	expect(t, r, http.StatusConflict, "too_many_revocations")
	if !strings.Contains(string(r.body), "10000 unexpired revocations") || version() != before {
		t.Fatalf("body %s, version %d → %d: want the bound said and nothing published", r.body, before, version())
	}
	e.fake.Advance(time.Hour + time.Second)
	r = e.do("POST", "/v1/revocations", adminToken, one)
	expect(t, r, http.StatusCreated, "")
	e.waitVersion(versionHeader(t, r))
	if got := e.snapshotNow().Policy.RevokedTokens; len(got) != policy.MaxRevokedTokens {
		t.Fatalf("the snapshot carries %d revocations, want %d", len(got), policy.MaxRevokedTokens)
	}
}
