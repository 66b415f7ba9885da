// Package admin is what the admin API does, independent of HTTP: it validates input with the
// same rules the filter applies (shared/policy), generates secrets, changes the store in one
// transaction per operation, bumps the snapshot version when the published policy changes, and
// writes the audit log with secrets redacted.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Errors callers branch on. Invalid input is reported as *strictjson.Errors (each problem with
// its field path), like an invalid policy.
var (
	ErrUnauthenticated      = errors.New("missing, unknown or revoked token")
	ErrPreconditionRequired = errors.New("the policy can only be replaced with If-Match set to its ETag (or *)")
	ErrPreconditionFailed   = errors.New("the policy changed since it was read: GET it again and reapply the change")
	ErrRevoked              = errors.New("the key is revoked and cannot be changed")
	ErrLastAdmin            = errors.New("this is the last active admin token; create another admin token first")
	ErrNoNextSecret         = errors.New("the verifier has no next_secret to promote: set one with PATCH first")
)

// Service runs admin operations on a store.
type Service struct {
	store store.Store
	clock clock.Clock
	rand  io.Reader
	seal  *seal.Sealer
	// maxKeys bounds the live keys (Options.MaxKeys).
	maxKeys int
}

// Options tune New.
type Options struct {
	Clock clock.Clock // default clock.Real
	Rand  io.Reader   // default crypto/rand
	// Sealer encrypts the secrets at rest (webhook secrets, the signing key). The default is a
	// random key that lives only in this process: tests only — a server passes the master key.
	Sealer *seal.Sealer
	// MaxKeys bounds the keys that are not revoked; a key created or imported past it is
	// refused (ErrTooManyKeys). 0, or more than a snapshot carries, means policy.MaxKeys.
	MaxKeys int
}

// New returns a Service on st.
func New(st store.Store, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Sealer == nil {
		opts.Sealer = seal.Random()
	}
	if opts.MaxKeys <= 0 || opts.MaxKeys > policy.MaxKeys {
		opts.MaxKeys = policy.MaxKeys
	}
	return &Service{store: st, clock: opts.Clock, rand: opts.Rand, seal: opts.Sealer, maxKeys: opts.MaxKeys}
}

// Store returns the service's store.
func (s *Service) Store() store.Store { return s.store }

// now is the service's time at the precision the store keeps, so values returned to callers
// equal what a later read returns.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// invalid returns a one-field validation error.
func invalid(path, format string, args ...any) error {
	var d strictjson.Decoder
	d.Errorf(path, format, args...)
	return d.Err()
}

// audit appends an entry; before and after are marshalled unless nil.
func audit(ctx context.Context, tx store.Tx, at time.Time, who auth.Principal, action, target string, version uint64, before, after any) error {
	e := store.AuditEntry{At: at, Actor: who.TokenID, Action: action, Target: target, Version: version}
	var err error
	if before != nil {
		if e.Before, err = json.Marshal(before); err != nil {
			return err
		}
	}
	if after != nil {
		if e.After, err = json.Marshal(after); err != nil {
			return err
		}
	}
	_, err = tx.AppendAudit(ctx, e)
	return err
}

// page fetches limit+1 rows to learn whether another page follows.
func page[T any](rows []T, limit int, seq func(T) int64) ([]T, int64) {
	if len(rows) <= limit {
		return rows, 0
	}
	rows = rows[:limit]
	return rows, seq(rows[len(rows)-1])
}
