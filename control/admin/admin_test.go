package admin_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
)

var ctx = context.Background()

// testSealer is the master key of every service newService makes, so a second service on the
// same store (another replica) opens what the first sealed.
var testSealer = seal.Random()

func newService(t *testing.T) (*admin.Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return admin.New(st, admin.Options{Clock: clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), Sealer: testSealer}), st
}

func TestBootstrapGeneratesOnceWithoutEnvironment(t *testing.T) {
	svc, _ := newService(t)
	tok, err := svc.Bootstrap(ctx, "", "")
	if err != nil || !strings.HasPrefix(tok, auth.AdminPrefix) {
		t.Fatalf("first start: %q, %v", tok, err)
	}
	p, err := svc.Authenticate(ctx, tok)
	if err != nil || !p.CanWrite() {
		t.Fatalf("generated token: %+v, %v", p, err)
	}
	if again, err := svc.Bootstrap(ctx, "", ""); err != nil || again != "" {
		t.Fatalf("second start generated %q, %v", again, err)
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	svc, _ := newService(t)
	const first, second, plane = "pca_first_token_from_env_0", "pca_second_token_from_env", "pcd_plane_token_from_env_0"
	if tok, err := svc.Bootstrap(ctx, first, plane); err != nil || tok != "" {
		t.Fatalf("Bootstrap = %q, %v; nothing is generated when the token is given", tok, err)
	}
	if p, err := svc.Authenticate(ctx, first); err != nil || p.TokenID != admin.BootstrapAdminID || !p.CanWrite() {
		t.Fatalf("admin token from env: %+v, %v", p, err)
	}
	if p, err := svc.Authenticate(ctx, plane); err != nil || p.TokenID != admin.BootstrapDataplaneID || p.Kind != store.KindDataplane {
		t.Fatalf("data-plane token from env: %+v, %v", p, err)
	}
	// A revoked bootstrap token stays revoked on restart with the same value (another admin
	// exists, so it may be revoked)...
	_, _, err := svc.CreateToken(ctx, auth.System(), store.KindAdmin, admin.NewToken{Name: "x", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(ctx, auth.System(), store.KindAdmin, admin.BootstrapAdminID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, first, plane); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, first); !errors.Is(err, admin.ErrUnauthenticated) {
		t.Fatalf("revoked env token works again after restart: %v", err)
	}
	// ...and a new value rotates it: the new one works, the old one does not.
	if _, err := svc.Bootstrap(ctx, second, plane); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, second); err != nil {
		t.Fatalf("rotated token: %v", err)
	}
	if _, err := svc.Authenticate(ctx, first); !errors.Is(err, admin.ErrUnauthenticated) {
		t.Fatalf("old env token still works: %v", err)
	}
}

func TestBootstrapRejects(t *testing.T) {
	svc, _ := newService(t)
	for _, tc := range []struct{ adminTok, planeTok, want string }{
		{"short", "", "PORTCULLIS_ADMIN_TOKEN is 5 characters"},
		{"", "short", "PORTCULLIS_DATAPLANE_TOKEN is 5 characters"},
		{"same_token_for_both_00000", "same_token_for_both_00000", "must differ"},
	} {
		if _, err := svc.Bootstrap(ctx, tc.adminTok, tc.planeTok); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bootstrap(%q, %q) = %v, want %q", tc.adminTok, tc.planeTok, err, tc.want)
		}
	}
}

func TestSigningKeyIsCreatedOnceAndShared(t *testing.T) {
	svc, st := newService(t)
	k1, err := svc.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := admin.New(st, admin.Options{Sealer: testSealer}).SigningKey(ctx) // another replica
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second SigningKey differs: %v", err)
	}
	entries, _, err := svc.ListAudit(ctx, 0, 10)
	if err != nil || len(entries) != 1 || entries[0].Action != "signing_key.create" || !strings.Contains(string(entries[0].After), "public_key") {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
}

func TestAuthenticate(t *testing.T) {
	svc, _ := newService(t)
	for _, raw := range []string{"", "pca_nope", strings.Repeat("x", 10000)} {
		if _, err := svc.Authenticate(ctx, raw); !errors.Is(err, admin.ErrUnauthenticated) {
			t.Errorf("Authenticate(%.20q) = %v", raw, err)
		}
	}
}

func TestRevokeKeepsAnAdmin(t *testing.T) {
	svc, _ := newService(t)
	if _, err := svc.Bootstrap(ctx, "pca_first_token_from_env_0", ""); err != nil {
		t.Fatal(err)
	}
	// A read-only token does not count as an admin.
	if _, _, err := svc.CreateToken(ctx, auth.System(), store.KindAdmin, admin.NewToken{Name: "ro", Role: store.RoleReadOnly}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(ctx, auth.System(), store.KindAdmin, admin.BootstrapAdminID); !errors.Is(err, admin.ErrLastAdmin) {
		t.Fatalf("revoking the last admin = %v", err)
	}
}

func TestStoreErrorsPassThrough(t *testing.T) {
	svc, st := newService(t)
	st.Close()
	if _, _, _, err := svc.CreateKey(ctx, auth.System(), admin.NewKey{Name: "x"}); err == nil {
		t.Fatal("CreateKey on a closed store succeeded")
	}
	if _, err := svc.Policy(ctx); err == nil {
		t.Fatal("Policy on a closed store succeeded")
	}
	if _, err := svc.Authenticate(ctx, "pca_anything_at_all_000"); err == nil || errors.Is(err, admin.ErrUnauthenticated) {
		t.Fatalf("Authenticate on a closed store = %v; a store failure is not a bad token", err)
	}
}

func TestRandomnessFailure(t *testing.T) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := admin.New(st, admin.Options{Rand: bytes.NewReader(nil)})
	if _, _, _, err := svc.CreateKey(ctx, auth.System(), admin.NewKey{Name: "x"}); err == nil {
		t.Fatal("a key was created without randomness")
	}
	if _, err := svc.Bootstrap(ctx, "", ""); err == nil {
		t.Fatal("a token was generated without randomness")
	}
	if _, err := svc.SigningKey(ctx); err == nil {
		t.Fatal("a signing key was generated without randomness")
	}
}

func TestSeedPolicy(t *testing.T) {
	svc, _ := newService(t)
	const seed = `{"version":1,"routes":[{"name":"api","match":{"path_prefix":"/api"},"auth":{"type":"api_key"}}]}`
	if _, err := svc.SeedPolicy(ctx, []byte(`{"version":1,"routes":[{}]}`)); err == nil {
		t.Fatal("an invalid seed was accepted")
	}
	if applied, err := svc.SeedPolicy(ctx, []byte(seed)); err != nil || !applied {
		t.Fatalf("seed on a new database: %v, %v", applied, err)
	}
	p, _ := svc.Policy(ctx)
	if !strings.Contains(string(p.Document), `"name":"api"`) {
		t.Fatalf("policy after seed: %s", p.Document)
	}
	// Once the policy has changed, a seed (e.g. on every restart) changes nothing.
	if applied, err := svc.SeedPolicy(ctx, []byte(`{"version":1}`)); err != nil || applied {
		t.Fatalf("seed on an edited database: %v, %v", applied, err)
	}
	if again, _ := svc.Policy(ctx); again.ETag != p.ETag {
		t.Fatalf("policy changed by a second seed: %s", again.Document)
	}
}
