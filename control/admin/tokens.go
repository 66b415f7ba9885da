package admin

import (
	"context"
	"errors"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// NewToken is the input of CreateToken.
type NewToken struct {
	Name string
	// Role is required for admin tokens and must be empty for data-plane tokens.
	Role store.Role
}

// CreateToken generates an admin or data-plane token. raw is the token itself, which exists
// nowhere else afterwards.
func (s *Service) CreateToken(ctx context.Context, who auth.Principal, kind store.TokenKind, in NewToken) (t store.Token, raw string, err error) {
	var d strictjson.Decoder
	checkName(&d, in.Name)
	switch {
	case kind == store.KindAdmin && in.Role != store.RoleAdmin && in.Role != store.RoleReadOnly:
		d.Errorf("role", `must be "admin" or "read-only"`)
	case kind == store.KindDataplane && in.Role != store.RoleNone:
		d.Errorf("role", "data-plane tokens have no role")
	}
	if err := d.Err(); err != nil {
		return t, "", err
	}
	prefix, idPrefix := auth.AdminPrefix, "adm_"
	if kind == store.KindDataplane {
		prefix, idPrefix = auth.DataplanePrefix, "dpt_"
	}
	if raw, err = auth.NewSecret(s.rand, prefix); err != nil {
		return t, "", err
	}
	id, err := auth.NewID(s.rand, idPrefix)
	if err != nil {
		return t, "", err
	}
	now := s.now()
	t = store.Token{ID: id, Kind: kind, Role: in.Role, Name: in.Name, Prefix: auth.Prefix(raw), SHA256: auth.Hash(raw),
		CreatedAt: now, CreatedBy: who.TokenID}
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		return audit(ctx, tx, now, who, string(kind)+"_token.create", t.ID, 0, nil, ViewToken(t))
	})
	if err != nil {
		return store.Token{}, "", err
	}
	return t, raw, nil
}

func checkName(d *strictjson.Decoder, name string) {
	switch {
	case name == "":
		d.Errorf("name", "required")
	case len(name) > 200:
		d.Errorf("name", "must be at most 200 bytes")
	default:
		for i := 0; i < len(name); i++ {
			if name[i] < 0x20 || name[i] == 0x7f {
				d.Errorf("name", "must not contain control characters")
				return
			}
		}
	}
}

// ListTokens returns up to limit tokens of a kind created after the cursor, and the next cursor
// (0 on the last page).
func (s *Service) ListTokens(ctx context.Context, kind store.TokenKind, after int64, limit int) (tokens []store.Token, next int64, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		tokens, err = tx.ListTokens(ctx, kind, after, limit+1)
		return err
	})
	tokens, next = page(tokens, limit, func(t store.Token) int64 { return t.Seq })
	return tokens, next, err
}

// RevokeToken revokes a token of the given kind; it stops working on the next request. The last
// active admin-role token cannot be revoked (ErrLastAdmin), so the API cannot lock everyone out.
// Revoking a revoked token changes nothing.
func (s *Service) RevokeToken(ctx context.Context, who auth.Principal, kind store.TokenKind, id string) (t store.Token, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if t, err = tx.Token(ctx, id); err != nil {
			return err
		}
		if t.Kind != kind {
			return store.ErrNotFound
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		if t.Kind == store.KindAdmin && t.Role == store.RoleAdmin {
			n, err := tx.CountActiveTokens(ctx, store.KindAdmin, store.RoleAdmin)
			if err != nil {
				return err
			}
			if n <= 1 {
				return ErrLastAdmin
			}
		}
		before := t
		t.RevokedAt = now
		if err := tx.UpdateToken(ctx, t); err != nil {
			return err
		}
		return audit(ctx, tx, now, who, string(kind)+"_token.revoke", t.ID, 0, ViewToken(before), ViewToken(t))
	})
	if err != nil {
		return store.Token{}, err
	}
	return t, nil
}

// Authenticate finds the token a request presents. The store looks the token up by its
// SHA-256 (an index lookup on the hash reveals nothing about the token), and the hashes are
// compared again in constant time. Unknown and revoked tokens are both ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, raw string) (auth.Principal, error) {
	if raw == "" {
		return auth.Principal{}, ErrUnauthenticated
	}
	h := auth.Hash(raw)
	t, err := s.store.TokenByHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return auth.Principal{}, err
	}
	if !auth.Equal(t.SHA256, h) || !t.RevokedAt.IsZero() {
		return auth.Principal{}, ErrUnauthenticated
	}
	return auth.Principal{TokenID: t.ID, Kind: t.Kind, Role: t.Role}, nil
}
