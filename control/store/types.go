package store

import (
	"encoding/json"
	"time"
)

// State is the snapshot version counter.
type State struct {
	// Version is the current snapshot version, at least 1.
	Version uint64
	// UpdatedAt is when Version was committed; it becomes the snapshot's issued_at, so every
	// replica builds byte-identical snapshots.
	UpdatedAt time.Time
}

// Policy is the route and default part of the policy document (everything but keys).
type Policy struct {
	// Document is the normalized policy JSON without keys.
	Document []byte
	// Version is the snapshot version that last changed the policy (the ETag).
	Version   uint64
	UpdatedAt time.Time
}

// Use is what a usage report says of one key: requests it authenticated, and when the last of
// them was made.
type Use struct {
	Count uint64
	At    time.Time
}

// Key is an API key. The raw key is never stored.
type Key struct {
	Seq          int64 // creation order, assigned by the store
	ID           string
	Name         string
	Prefix       string // the first 8 characters of the raw key
	SHA256       string // lower-case hex SHA-256 of the raw key
	Active       bool
	AllowedPaths []string
	Permissions  []string
	// Admin and Staff are the flags the routes' admin and staff guards require.
	Admin, Staff bool
	// Tier names the policy's rate_limit_tiers entry the key is limited by; empty: the
	// "default" tier, when the policy defines one.
	Tier       string
	ExpiresAt  time.Time // zero: never
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RevokedAt  time.Time // zero: not revoked
	LastUsedAt time.Time // zero: never reported
	UseCount   uint64
}

// KeyChange is a key as KeysChangedSince reads it: with the snapshot versions that created it
// and last changed it (revoking included).
type KeyChange struct {
	Key
	CreatedVersion, ChangedVersion uint64
}

// TokenKind separates admin API tokens from data-plane (snapshot polling) tokens.
type TokenKind string

// The token kinds.
const (
	KindAdmin     TokenKind = "admin"
	KindDataplane TokenKind = "dataplane"
)

// Role is what an admin token may do. Data-plane tokens have no role.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleReadOnly Role = "read-only"
	RoleNone     Role = ""
)

// Token is an API token. The raw token is never stored.
type Token struct {
	Seq       int64
	ID        string
	Kind      TokenKind
	Role      Role
	Name      string
	Prefix    string
	SHA256    string
	CreatedAt time.Time
	CreatedBy string // token id of the creator, or "system"
	RevokedAt time.Time
}

// AuditEntry records one change.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // token id, or "system"
	Action string // e.g. "key.create"
	Target string // id of the changed object
	// Version is the snapshot version the change produced, 0 if it produced none.
	Version uint64
	// Before and After are redacted JSON views; nil when there is none.
	Before, After json.RawMessage
}

// Revocation is a revoked JWT id. It is published until ExpiresAt, then pruned.
type Revocation struct {
	JTI       string
	ExpiresAt time.Time
	CreatedAt time.Time
	CreatedBy string // token id of the admin who revoked it
}

// FetchedJWKS is a provider's key set as the control server last fetched and validated it.
type FetchedJWKS struct {
	URI string
	// Keys is the canonical JSON of the validated public keys ({"keys":[...]}).
	Keys      []byte
	FetchedAt time.Time
}
