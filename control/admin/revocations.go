package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// ErrTooManyRevocations is returned when a snapshot could not carry one more revocation.
var ErrTooManyRevocations = fmt.Errorf("%d unexpired revocations are published already (the most a snapshot carries); "+
	"delete some or wait until they expire", policy.MaxRevokedTokens)

// maxRevocationAhead bounds expires_at: a revocation outliving any token lifetime is a typo.
const maxRevocationAhead = 400 * 24 * time.Hour

// RevocationView is a revocation as the API shows it.
type RevocationView struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// ViewRevocation is the API view of r.
func ViewRevocation(r store.Revocation) RevocationView {
	return RevocationView{JTI: r.JTI, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

// Revoke publishes a revoked token id until expiresAt (set it at or after the token's exp).
// Expired revocations are pruned in the same transaction; a snapshot carries at most
// policy.MaxRevokedTokens, and one more is refused with ErrTooManyRevocations.
func (s *Service) Revoke(ctx context.Context, who auth.Principal, jti string, expiresAt time.Time) (r store.Revocation, version uint64, err error) {
	now := s.now()
	expiresAt = expiresAt.UTC().Truncate(time.Microsecond)
	switch {
	case jti == "" || len(jti) > 256 || hasControlChar(jti):
		return r, 0, invalid("jti", "required: 1-256 bytes without control characters")
	case expiresAt.IsZero():
		return r, 0, invalid("expires_at", "required: when the token expires (RFC 3339)")
	case !expiresAt.After(now):
		return r, 0, invalid("expires_at", "must be in the future: an expired token is refused already")
	case expiresAt.After(now.Add(maxRevocationAhead)):
		return r, 0, invalid("expires_at", "must be within %d days", int(maxRevocationAhead/(24*time.Hour)))
	}
	r = store.Revocation{JTI: jti, ExpiresAt: expiresAt, CreatedAt: now, CreatedBy: who.TokenID}
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.PruneRevocations(ctx, now); err != nil {
			return err
		}
		list, err := tx.ListRevocations(ctx)
		if err != nil {
			return err
		}
		if len(list) >= policy.MaxRevokedTokens {
			return ErrTooManyRevocations
		}
		if err := tx.InsertRevocation(ctx, r); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, "revocation.create", jti, version, nil, ViewRevocation(r))
	})
	if err != nil {
		return store.Revocation{}, 0, err
	}
	return r, version, nil
}

// Unrevoke removes a revocation, so the token is accepted again until its own expiry.
func (s *Service) Unrevoke(ctx context.Context, who auth.Principal, jti string) (version uint64, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		list, err := tx.ListRevocations(ctx)
		if err != nil {
			return err
		}
		var before *store.Revocation
		for i := range list {
			if list[i].JTI == jti {
				before = &list[i]
			}
		}
		if before == nil {
			return store.ErrNotFound
		}
		if err := tx.DeleteRevocation(ctx, jti); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, "revocation.delete", jti, version, ViewRevocation(*before), nil)
	})
	return version, err
}

// Revocations lists the revocations that have not expired.
func (s *Service) Revocations(ctx context.Context) ([]store.Revocation, error) {
	now := s.now()
	var out []store.Revocation
	err := s.store.Read(ctx, func(tx store.Tx) error {
		list, err := tx.ListRevocations(ctx)
		for _, r := range list {
			if !r.ExpiresAt.Before(now) {
				out = append(out, r)
			}
		}
		return err
	})
	return out, err
}

func hasControlChar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
