package admin

import (
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
)

// KeyView is an API key as the API shows it and the audit log records it: the key itself only
// as its first characters, never its hash.
type KeyView struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	MaskedKey    string   `json:"masked_key"`
	Active       bool     `json:"active"`
	Status       string   `json:"status"` // active, inactive, expired or revoked
	AllowedPaths []string `json:"allowed_paths"`
	Permissions  []string `json:"permissions"`
	Admin        bool     `json:"admin"`
	Staff        bool     `json:"staff"`
	// Tier is the rate-limit tier the key names; empty: the policy's "default" tier.
	Tier       string     `json:"tier"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	UseCount   uint64     `json:"use_count"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// ViewKey builds the view of k at time now (which decides "expired").
func ViewKey(k store.Key, now time.Time) KeyView {
	v := KeyView{
		ID: k.ID, Name: k.Name, MaskedKey: auth.Mask(k.Prefix), Active: k.Active,
		AllowedPaths: nonNil(k.AllowedPaths), Permissions: nonNil(k.Permissions), Admin: k.Admin, Staff: k.Staff,
		Tier: k.Tier, ExpiresAt: timePtr(k.ExpiresAt), CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
		LastUsedAt: timePtr(k.LastUsedAt), UseCount: k.UseCount, RevokedAt: timePtr(k.RevokedAt),
	}
	switch {
	case !k.RevokedAt.IsZero():
		v.Status = "revoked"
	case !k.Active:
		v.Status = "inactive"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		v.Status = "expired"
	default:
		v.Status = "active"
	}
	return v
}

// auditKey is what the audit log keeps of a key: its configuration, not its usage counters.
type auditKey struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	MaskedKey    string     `json:"masked_key"`
	Active       bool       `json:"active"`
	AllowedPaths []string   `json:"allowed_paths"`
	Permissions  []string   `json:"permissions"`
	Admin        bool       `json:"admin"`
	Staff        bool       `json:"staff"`
	Tier         string     `json:"tier,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
}

func auditKeyOf(k store.Key) auditKey {
	return auditKey{ID: k.ID, Name: k.Name, MaskedKey: auth.Mask(k.Prefix), Active: k.Active,
		AllowedPaths: nonNil(k.AllowedPaths), Permissions: nonNil(k.Permissions), Admin: k.Admin, Staff: k.Staff,
		Tier: k.Tier, ExpiresAt: timePtr(k.ExpiresAt), RevokedAt: timePtr(k.RevokedAt)}
}

// TokenView is an admin or data-plane token as the API shows it and the audit log records it.
type TokenView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Role        string     `json:"role,omitempty"`
	MaskedToken string     `json:"masked_token"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

// ViewToken builds the view of t.
func ViewToken(t store.Token) TokenView {
	return TokenView{ID: t.ID, Name: t.Name, Kind: string(t.Kind), Role: string(t.Role), MaskedToken: auth.Mask(t.Prefix),
		CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, RevokedAt: timePtr(t.RevokedAt)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
