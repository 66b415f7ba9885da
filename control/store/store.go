// Package store defines the control server's persistent state behind one interface, with two
// implementations: store/sqlite (embedded, the default) and store/postgres (several replicas).
//
// Every change happens in a Write transaction. Write transactions are serialized across every
// replica on the same database (PostgreSQL: a row lock on the single state row; SQLite: BEGIN
// IMMEDIATE), so a read-modify-write inside one never loses another's update. A change that
// affects the published snapshot calls Tx.BumpVersion in the same transaction, so the version
// counter and the change commit together, and every replica learns of the new version through
// Store.Subscribe.
//
// # Notes
//
// The store holds no business rules beyond uniqueness: validation, redaction and audit
// contents are the admin package's job, so both implementations share them.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is the database.
type Store interface {
	// Read runs fn in a read-only transaction that sees one consistent state of the database.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a transaction serialized with every other Write on the same database.
	// Nothing fn did is kept unless it returns nil and the commit succeeds.
	Write(ctx context.Context, fn func(Tx) error) error
	// TokenByHash finds a token by the hex SHA-256 of its secret (ErrNotFound if none), outside
	// any transaction: it runs on every authenticated request.
	TokenByHash(ctx context.Context, sha256 string) (Token, error)
	// RecordUsage adds each key's use count and moves its last_used_at forward to the use's
	// time (never backwards). Unknown ids are ignored. It does not change the snapshot version.
	RecordUsage(ctx context.Context, uses map[string]Use) error
	// Subscribe returns a channel that receives a value (coalesced, never blocking the sender)
	// whenever a new version may have been committed, by this process or another replica.
	// cancel releases the subscription.
	Subscribe() (c <-chan struct{}, cancel func())
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is one transaction's view of the database.
type Tx interface {
	// State returns the current snapshot version and when it was committed.
	State(ctx context.Context) (State, error)
	// BumpVersion increments the snapshot version (Write only) and returns the new state.
	BumpVersion(ctx context.Context, at time.Time) (State, error)
	// AdvanceVersion sets the version to past+1 if it is not above past already (Write only),
	// and returns the state: for a database restored from a backup older than what filters
	// hold, so that the next published version is one no filter has seen.
	AdvanceVersion(ctx context.Context, past uint64, at time.Time) (State, error)

	// SigningKey returns the Ed25519 seed, or nil if none was stored yet.
	SigningKey(ctx context.Context) ([]byte, error)
	// SetSigningKey stores the seed if none is stored (Write only) and returns the stored one.
	SetSigningKey(ctx context.Context, seed []byte) ([]byte, error)
	// ReplaceSigningKey overwrites the stored value (Write only): the same key in another
	// form, such as a plaintext seed sealed under the master key.
	ReplaceSigningKey(ctx context.Context, seed []byte) error

	Policy(ctx context.Context) (Policy, error)
	PutPolicy(ctx context.Context, p Policy) error

	InsertKey(ctx context.Context, k Key) error
	// InsertKeys stores a batch of keys as InsertKey does (Write only), in the order given.
	// It is the bulk path: multi-row INSERTs, or COPY where the database has it. ErrConflict
	// if any id or hash is already stored: then the transaction is as it was before its first
	// InsertKeys call (every write since is undone, earlier batches' keys included) and stays
	// usable, so KeyConflicts can tell which.
	InsertKeys(ctx context.Context, keys []Key) error
	// KeyConflicts returns which of ids and hashes are stored already, revoked keys included.
	KeyConflicts(ctx context.Context, ids, hashes []string) (storedIDs, storedHashes []string, err error)
	Key(ctx context.Context, id string) (Key, error)
	// UpdateKey writes the mutable fields of k (name, active, allowed paths, permissions,
	// admin and staff flags, tier, expiry, updated and revoked times).
	UpdateKey(ctx context.Context, k Key) error
	// ListKeys returns up to limit keys with Seq > after, in creation order.
	ListKeys(ctx context.Context, after int64, limit int) ([]Key, error)
	// PublishedKeys returns every key that is not revoked, ordered by id.
	PublishedKeys(ctx context.Context) ([]Key, error)
	// LiveKeys counts the keys that are not revoked: the keys a snapshot carries.
	LiveKeys(ctx context.Context) (int, error)
	// KeysEverStored bounds LiveKeys from above at the cost of one index lookup: the highest
	// Seq (keys are never deleted, so no more keys than that were ever stored).
	KeysEverStored(ctx context.Context) (int64, error)
	// KeysChangedSince returns the keys, revoked ones included, that a version in (after, upTo]
	// created or last changed, ordered by id: what a snapshot version changed, read without
	// reading every key. A key written in a transaction counts as changed by the version that
	// transaction bumped to (or, if it bumped none, by the next transaction that does).
	KeysChangedSince(ctx context.Context, after, upTo uint64) ([]KeyChange, error)
	// KeysInTiers returns the ids of up to limit keys that are not revoked and name one of
	// tiers, ordered by id, and how many such keys there are in all.
	KeysInTiers(ctx context.Context, tiers []string, limit int) (ids []string, total int, err error)

	InsertWebhook(ctx context.Context, w Webhook) error
	Webhook(ctx context.Context, name string) (Webhook, error)
	// UpdateWebhook writes every field of w but Seq, Name and CreatedAt.
	UpdateWebhook(ctx context.Context, w Webhook) error
	DeleteWebhook(ctx context.Context, name string) error
	// Webhooks returns every verifier, ordered by name.
	Webhooks(ctx context.Context) ([]Webhook, error)

	InsertToken(ctx context.Context, t Token) error
	Token(ctx context.Context, id string) (Token, error)
	// UpdateToken writes the mutable fields of t (name, secret hash and prefix, revoked time).
	UpdateToken(ctx context.Context, t Token) error
	// ListTokens returns up to limit tokens of a kind with Seq > after, in creation order.
	ListTokens(ctx context.Context, kind TokenKind, after int64, limit int) ([]Token, error)
	// CountActiveTokens counts the tokens of a kind and role that are not revoked.
	CountActiveTokens(ctx context.Context, kind TokenKind, role Role) (int, error)

	// InsertRevocation stores a revoked token id (ErrConflict if it is already revoked).
	InsertRevocation(ctx context.Context, r Revocation) error
	// DeleteRevocation removes one (ErrNotFound if it is not revoked).
	DeleteRevocation(ctx context.Context, jti string) error
	// ListRevocations returns every revocation, ordered by jti.
	ListRevocations(ctx context.Context) ([]Revocation, error)
	// PruneRevocations deletes the revocations that expired before t and returns how many.
	PruneRevocations(ctx context.Context, t time.Time) (int, error)

	// JWKS returns the key set last fetched from uri (ErrNotFound if none).
	JWKS(ctx context.Context, uri string) (FetchedJWKS, error)
	// PutJWKS stores the key set fetched from a provider's jwks_uri.
	PutJWKS(ctx context.Context, j FetchedJWKS) error

	// AppendAudit stores an entry and returns its id.
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit returns up to limit entries with ID < before (0: from the newest), newest first.
	ListAudit(ctx context.Context, before int64, limit int) ([]AuditEntry, error)
}

// Errors the implementations return; callers branch on them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is a uniqueness violation (an id or secret hash that already exists).
	ErrConflict = errors.New("conflict")
	// ErrReadOnly is returned by a Tx method that changes data inside Read.
	ErrReadOnly = errors.New("write in a read-only transaction")
)
