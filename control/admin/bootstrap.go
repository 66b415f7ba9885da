package admin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Ids of the tokens that come from the environment.
const (
	BootstrapAdminID     = "adm_bootstrap"
	BootstrapDataplaneID = "dpt_bootstrap"
)

// MinTokenLen is the shortest token accepted from the environment.
const MinTokenLen = 20

// Bootstrap makes sure an administrator can get in. A token from the environment
// (PORTCULLIS_ADMIN_TOKEN, PORTCULLIS_DATAPLANE_TOKEN) is stored under a fixed id, replacing
// the previous value of that variable; the same value as before changes nothing (a token
// revoked through the API stays revoked). Without an admin token in the environment, and with
// no active admin token in the store (first start), an admin token is generated and returned,
// for the caller to print once.
func (s *Service) Bootstrap(ctx context.Context, adminToken, dataplaneToken string) (generated string, err error) {
	for name, tok := range map[string]string{"PORTCULLIS_ADMIN_TOKEN": adminToken, "PORTCULLIS_DATAPLANE_TOKEN": dataplaneToken} {
		if tok != "" && len(tok) < MinTokenLen {
			return "", fmt.Errorf("%s is %d characters; use at least %d random characters", name, len(tok), MinTokenLen)
		}
	}
	if adminToken != "" && adminToken == dataplaneToken {
		return "", errors.New("PORTCULLIS_ADMIN_TOKEN and PORTCULLIS_DATAPLANE_TOKEN must differ")
	}
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if adminToken != "" {
			if err := s.envToken(ctx, tx, BootstrapAdminID, store.KindAdmin, store.RoleAdmin, adminToken); err != nil {
				return fmt.Errorf("PORTCULLIS_ADMIN_TOKEN: %w", err)
			}
		} else {
			n, err := tx.CountActiveTokens(ctx, store.KindAdmin, store.RoleAdmin)
			if err != nil {
				return err
			}
			if n == 0 {
				if generated, err = auth.NewSecret(s.rand, auth.AdminPrefix); err != nil {
					return err
				}
				id, err := auth.NewID(s.rand, "adm_")
				if err != nil {
					return err
				}
				t := store.Token{ID: id, Kind: store.KindAdmin, Role: store.RoleAdmin, Name: "generated at first start",
					Prefix: auth.Prefix(generated), SHA256: auth.Hash(generated), CreatedAt: now, CreatedBy: auth.SystemID}
				if err := tx.InsertToken(ctx, t); err != nil {
					return err
				}
				if err := audit(ctx, tx, now, auth.System(), "admin_token.create", t.ID, 0, nil, ViewToken(t)); err != nil {
					return err
				}
			}
		}
		if dataplaneToken != "" {
			if err := s.envToken(ctx, tx, BootstrapDataplaneID, store.KindDataplane, store.RoleNone, dataplaneToken); err != nil {
				return fmt.Errorf("PORTCULLIS_DATAPLANE_TOKEN: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return generated, nil
}

func (s *Service) envToken(ctx context.Context, tx store.Tx, id string, kind store.TokenKind, role store.Role, raw string) error {
	now := s.now()
	h := auth.Hash(raw)
	t, err := tx.Token(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		t = store.Token{ID: id, Kind: kind, Role: role, Name: "from the environment", Prefix: auth.Prefix(raw), SHA256: h,
			CreatedAt: now, CreatedBy: auth.SystemID}
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		return audit(ctx, tx, now, auth.System(), string(kind)+"_token.create", id, 0, nil, ViewToken(t))
	case err != nil:
		return err
	case t.SHA256 == h:
		return nil
	}
	before := t
	// A new value in the environment is a rotation: the new token works, even if the old one
	// had been revoked.
	t.SHA256, t.Prefix, t.RevokedAt = h, auth.Prefix(raw), time.Time{}
	if err := tx.UpdateToken(ctx, t); err != nil {
		return err
	}
	return audit(ctx, tx, now, auth.System(), string(kind)+"_token.rotate", id, 0, ViewToken(before), ViewToken(t))
}

// signingKeyAD is what the sealed signing key is bound to.
const signingKeyAD = "signing_key"

// SigningKey returns the snapshot signing key, creating and storing it (sealed under the master
// key) on first start. All replicas on one database share it, and so must share the master key.
// A seed stored in plaintext by an earlier version is sealed in place. A stored key that the
// master key does not open fails: the key is never silently replaced, since every filter
// trusts only its public key.
func (s *Service) SigningKey(ctx context.Context) (ed25519.PrivateKey, error) {
	var seed []byte
	err := s.store.Write(ctx, func(tx store.Tx) error {
		stored, err := tx.SigningKey(ctx)
		if err != nil {
			return err
		}
		if stored == nil {
			fresh := make([]byte, ed25519.SeedSize)
			if _, err := io.ReadFull(s.rand, fresh); err != nil {
				return fmt.Errorf("generate signing key: %w", err)
			}
			sealed, err := s.seal.Seal(fresh, signingKeyAD)
			if err != nil {
				return err
			}
			// Another replica may have stored its own first: use whatever is stored.
			if stored, err = tx.SetSigningKey(ctx, sealed); err != nil {
				return err
			}
			if bytes.Equal(stored, sealed) {
				pub := ed25519.NewKeyFromSeed(fresh).Public().(ed25519.PublicKey)
				if err := audit(ctx, tx, s.now(), auth.System(), "signing_key.create", "signing_key", 0, nil,
					map[string]string{"public_key": snapshot.FormatPublicKey(pub)}); err != nil {
					return err
				}
			}
		}
		if !seal.IsSealed(stored) {
			return s.sealSigningKey(ctx, tx, stored, &seed)
		}
		if seed, err = s.seal.Open(stored, signingKeyAD); err != nil {
			return fmt.Errorf("stored signing key: %w; start with the master key it was sealed with", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("stored signing key is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sealSigningKey upgrades a plaintext seed (stored by a version without a master key) to its
// sealed form, keeping the key itself.
func (s *Service) sealSigningKey(ctx context.Context, tx store.Tx, plain []byte, seed *[]byte) error {
	if len(plain) != ed25519.SeedSize {
		return fmt.Errorf("stored signing key is %d bytes, want %d", len(plain), ed25519.SeedSize)
	}
	sealed, err := s.seal.Seal(plain, signingKeyAD)
	if err != nil {
		return err
	}
	if err := tx.ReplaceSigningKey(ctx, sealed); err != nil {
		return err
	}
	*seed = plain
	pub := ed25519.NewKeyFromSeed(plain).Public().(ed25519.PublicKey)
	return audit(ctx, tx, s.now(), auth.System(), "signing_key.seal", "signing_key", 0, nil,
		map[string]string{"public_key": snapshot.FormatPublicKey(pub)})
}
