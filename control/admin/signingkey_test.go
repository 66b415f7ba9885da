package admin_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
)

// storedSigningKey is the signing key's column as the database holds it.
func storedSigningKey(t *testing.T, st store.Store) []byte {
	t.Helper()
	var b []byte
	if err := st.Read(ctx, func(tx store.Tx) (err error) { b, err = tx.SigningKey(ctx); return }); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSigningKeyIsSealed(t *testing.T) {
	svc, st := newService(t)
	priv, err := svc.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := storedSigningKey(t, st)
	if bytes.Contains(stored, priv.Seed()) || !seal.IsSealed(stored) {
		t.Fatalf("the stored signing key is not sealed: %x", stored)
	}
	// A different master key refuses to start and leaves the stored key as it was.
	_, err = admin.New(st, admin.Options{Sealer: seal.Random()}).SigningKey(ctx)
	if !errors.Is(err, seal.ErrWrongKey) || !strings.Contains(err.Error(), "signing key") {
		t.Fatalf("SigningKey under another master key = %v, want ErrWrongKey naming the signing key", err)
	}
	if !bytes.Equal(storedSigningKey(t, st), stored) {
		t.Fatal("a wrong master key changed the stored signing key")
	}
	if again, err := svc.SigningKey(ctx); err != nil || !again.Equal(priv) {
		t.Fatalf("SigningKey with the right master key = %v", err)
	}
}

func TestPlaintextSigningKeyIsSealedOnStart(t *testing.T) {
	svc, st := newService(t)
	seed := bytes.Repeat([]byte{0x5a}, ed25519.SeedSize)
	// What a version before the master key left in the database: the seed itself.
	if err := st.Write(ctx, func(tx store.Tx) error { _, err := tx.SetSigningKey(ctx, seed); return err }); err != nil {
		t.Fatal(err)
	}
	priv, err := svc.SigningKey(ctx)
	if err != nil || !bytes.Equal(priv.Seed(), seed) {
		t.Fatalf("SigningKey on a plaintext seed = %v; the key must stay the same", err)
	}
	stored := storedSigningKey(t, st)
	if bytes.Contains(stored, seed) || !seal.IsSealed(stored) {
		t.Fatalf("the plaintext seed was not sealed: %x", stored)
	}
	entries, _, _ := svc.ListAudit(ctx, 0, 10)
	if len(entries) == 0 || entries[0].Action != "signing_key.seal" || strings.Contains(string(entries[0].After), base64.StdEncoding.EncodeToString(seed)) {
		t.Fatalf("audit after sealing = %+v", entries)
	}
	if again, err := admin.New(st, admin.Options{Sealer: testSealer}).SigningKey(ctx); err != nil || !again.Equal(priv) {
		t.Fatalf("SigningKey after the upgrade = %v", err)
	}
}
