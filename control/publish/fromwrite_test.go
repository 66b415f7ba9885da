package publish_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// TestFromWriteMatchesFullBuild: a publisher that follows the store version by version — each
// published from the rows it changed, its full snapshot built from the previous one — signs
// byte for byte the snapshot a new publisher builds from every row, after any sequence of key
// creations, updates, revocations, bulk inserts, writes that bumped no version, JWT revocations,
// webhook verifiers created, rotated and deleted, and policy edits. And the delta it serves from
// every earlier version, applied to that version's snapshot as the filter applies it, judges
// every key and every delivery as the full snapshot does.
func TestFromWriteMatchesFullBuild(t *testing.T) {
	st := openStore(t)
	pol := func(name string) []byte {
		return []byte(`{"version":1,"routes":[{"name":"` + name + `","match":{"path_prefix":"/api"},"auth":{"type":"api_key"}},
			{"name":"hook","match":{"path_prefix":"/hook"},"auth":{"type":"webhook","webhook":"w-bound"}}]}`)
	}
	sealer := seal.Random()
	var hooks, hookSecrets []string
	verifierRow := func(name, secret, next string) store.Webhook {
		hookSecrets = append(hookSecrets, secret)
		w := store.Webhook{Name: name, Preset: "github", CreatedAt: t0, UpdatedAt: t0}
		var err error
		if w.Secret, err = sealer.Seal([]byte(secret), verifier.AD(name, "secret")); err != nil {
			t.Fatal(err)
		}
		if next != "" {
			hookSecrets = append(hookSecrets, next)
			if w.NextSecret, err = sealer.Seal([]byte(next), verifier.AD(name, "next_secret")); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	if err := st.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertWebhook(ctx, verifierRow("w-bound", "whsec-bound-secret-000", "")); err != nil {
			return err
		}
		return tx.PutPolicy(ctx, store.Policy{Document: pol("api"), Version: 1, UpdatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	opts := publish.Options{Sealer: sealer}
	follower := publish.New(st, priv, opts)
	if err := follower.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ids, jtis, raws []string
	next := 0
	newKey := func() store.Key {
		next++
		raw := fmt.Sprintf("pcs_raw_%d", next)
		k := testKey(fmt.Sprintf("k-%03d", rng.IntN(900)+next*1000), next)
		k.SHA256 = auth.Hash(raw)
		ids, raws = append(ids, k.ID), append(raws, raw)
		return k
	}
	payloads := map[uint64][]byte{}
	for i := range 80 {
		op := rng.IntN(11)
		write := func(tx store.Tx) error {
			switch {
			case op == 0 || len(ids) == 0:
				return tx.InsertKey(ctx, newKey())
			case op == 1:
				return tx.InsertKeys(ctx, []store.Key{newKey(), newKey(), newKey()})
			case op == 2 || op == 3:
				k, err := tx.Key(ctx, ids[rng.IntN(len(ids))])
				if err != nil || !k.RevokedAt.IsZero() {
					return err
				}
				k.Name, k.AllowedPaths, k.Active = fmt.Sprintf("renamed %d", i), []string{fmt.Sprintf("/api/p%d", i%3)}, rng.IntN(2) == 0
				return tx.UpdateKey(ctx, k)
			case op == 4:
				id := ids[rng.IntN(len(ids))]
				if rng.IntN(2) == 0 {
					id = ids[len(ids)-1] // perhaps created by the version just before
				}
				k, err := tx.Key(ctx, id)
				if err != nil || !k.RevokedAt.IsZero() {
					return err
				}
				k.Active, k.RevokedAt = false, t0
				return tx.UpdateKey(ctx, k)
			case op == 5:
				jti := fmt.Sprintf("jti-%d", i)
				jtis = append(jtis, jti)
				return tx.InsertRevocation(ctx, store.Revocation{JTI: jti, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, CreatedBy: "tok"})
			case op == 6 && len(jtis) > 0:
				j := rng.IntN(len(jtis))
				jti := jtis[j]
				jtis = append(jtis[:j], jtis[j+1:]...)
				return tx.DeleteRevocation(ctx, jti)
			case op == 9: // a verifier created, or one rotated (the bound one too)
				secret := fmt.Sprintf("whsec-secret-%04d-%06d", i, rng.IntN(1e6))
				if len(hooks) == 0 || rng.IntN(3) == 0 {
					name := fmt.Sprintf("w-%d", i)
					hooks = append(hooks, name)
					return tx.InsertWebhook(ctx, verifierRow(name, secret, ""))
				}
				name := "w-bound"
				if rng.IntN(2) == 0 {
					name = hooks[rng.IntN(len(hooks))]
				}
				w, err := tx.Webhook(ctx, name)
				if err != nil {
					return err
				}
				rotated := verifierRow(name, secret, fmt.Sprintf("whsec-next-%04d-%06d", i, rng.IntN(1e6)))
				w.Secret, w.NextSecret, w.ToleranceSeconds = rotated.Secret, rotated.NextSecret, rng.IntN(2)*60
				return tx.UpdateWebhook(ctx, w)
			case op == 10 && len(hooks) > 0: // an unbound verifier deleted
				j := rng.IntN(len(hooks))
				name := hooks[j]
				hooks = append(hooks[:j], hooks[j+1:]...)
				return tx.DeleteWebhook(ctx, name)
			case op == 7 && rng.IntN(4) == 0:
				return tx.PutPolicy(ctx, store.Policy{Document: pol(fmt.Sprintf("api-%d", i)), Version: uint64(i + 2), UpdatedAt: t0})
			}
			return tx.InsertKey(ctx, newKey())
		}
		if op == 8 { // a write that bumps nothing: the next version carries it
			if err := st.Write(ctx, write); err != nil {
				t.Fatal(err)
			}
			continue
		}
		bump(t, st, write)
		if err := follower.Refresh(ctx); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		fresh := publish.New(st, priv, opts)
		if err := fresh.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		got, want := follower.Current(), fresh.Current()
		if got.Version != want.Version || !bytes.Equal(got.Payload, want.Payload) || got.Signature != want.Signature {
			t.Fatalf("step %d (op %d): version %d built from the previous one differs from a build from every row (version %d)", i, op, got.Version, want.Version)
		}
		payloads[got.Version] = got.Payload
		for base, payload := range payloads {
			d := follower.Delta(base, 0, false, follower.Head())
			if d == nil {
				continue
			}
			a, b := applied(t, payload, d), compiled(t, got.Payload)
			if keysOf(a, raws) != keysOf(b, raws) {
				t.Fatalf("step %d: the delta %d→%d gives other keys than the full snapshot", i, base, got.Version)
			}
			if deliveries(a, hookSecrets) != deliveries(b, hookSecrets) {
				t.Fatalf("step %d: the delta %d→%d verifies deliveries otherwise than the full snapshot", i, base, got.Version)
			}
		}
	}
}

func compiled(t *testing.T, payload []byte) *engine.Engine {
	t.Helper()
	s, err := snapshot.DecodeCompact(payload)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.CompileWithKeys(s.Policy, s.Keys)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func applied(t *testing.T, base []byte, d *publish.SignedDelta) *engine.Engine {
	t.Helper()
	if err := snapshot.VerifyDelta(pub, d.Payload, d.Signature); err != nil {
		t.Fatal(err)
	}
	dd, err := snapshot.DecodeDelta(d.Payload)
	if err != nil {
		t.Fatal(err)
	}
	e := compiled(t, base)
	if err := e.Apply(dd.Changes); err != nil {
		t.Fatalf("delta %d→%d refused: %v", dd.Base, dd.Version, err)
	}
	return e
}

// keysOf is how an engine judges a request with each raw key.
func keysOf(e *engine.Engine, raws []string) string {
	var b strings.Builder
	for _, raw := range raws {
		d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/api/p1", Now: t0,
			Headers: [][2]string{{"authorization", "Bearer " + raw}}})
		fmt.Fprintf(&b, "%s:%v:%s:%d ", raw, d.Allow, d.KeyID, d.Status)
	}
	return b.String()
}

// deliveries is how an engine judges a delivery to the bound verifier signed with each secret.
func deliveries(e *engine.Engine, secrets []string) string {
	var b strings.Builder
	body := []byte(`{"event":"ping"}`)
	for _, secret := range secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req := &engine.Request{Method: "POST", Authority: "h", Path: "/hook", Now: t0,
			Headers: [][2]string{{"x-hub-signature-256", "sha256=" + hex.EncodeToString(m.Sum(nil))}}}
		d := e.Decide(req)
		if d.Allow && d.BufferBody {
			d = e.DecideBody(&d, req, body)
		}
		fmt.Fprintf(&b, "%v ", d.Allow)
	}
	return b.String()
}
