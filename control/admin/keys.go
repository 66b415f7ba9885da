package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// MaxListEntries bounds a key's allowed_paths and permissions.
const MaxListEntries = 256

// NewKey is the input of CreateKey.
type NewKey struct {
	Name         string
	Active       *bool // default true
	AllowedPaths []string
	Permissions  []string
	// Admin and Staff are the flags the routes' admin and staff guards require.
	Admin, Staff bool
	// Tier names one of the policy's rate_limit_tiers; empty: the "default" tier.
	Tier      string
	ExpiresAt time.Time // zero: never
}

// KeyPatch is the input of UpdateKey; nil fields stay as they are.
type KeyPatch struct {
	Name         *string
	Active       *bool
	AllowedPaths *[]string
	Permissions  *[]string
	Admin, Staff *bool
	// Tier points to the new tier; a pointer to "" returns the key to the "default" tier.
	Tier *string
	// ExpiresAt points to the new expiry; a pointer to the zero time removes the expiry.
	ExpiresAt *time.Time
}

// Empty reports whether the patch changes nothing.
func (p KeyPatch) Empty() bool {
	return p.Name == nil && p.Active == nil && p.AllowedPaths == nil && p.Permissions == nil &&
		p.Admin == nil && p.Staff == nil && p.Tier == nil && p.ExpiresAt == nil
}

// CreateKey generates a key, stores its hash and publishes it. raw is the key itself, which
// exists nowhere else afterwards.
func (s *Service) CreateKey(ctx context.Context, who auth.Principal, in NewKey) (k store.Key, raw string, version uint64, err error) {
	now := s.now()
	if raw, err = auth.NewSecret(s.rand, auth.KeyPrefix); err != nil {
		return k, "", 0, err
	}
	id, err := auth.NewID(s.rand, "key_")
	if err != nil {
		return k, "", 0, err
	}
	k = store.Key{ID: id, Name: in.Name, Prefix: auth.Prefix(raw), SHA256: auth.Hash(raw), Active: true,
		AllowedPaths: in.AllowedPaths, Permissions: in.Permissions, Admin: in.Admin, Staff: in.Staff, Tier: in.Tier,
		ExpiresAt: in.ExpiresAt, CreatedAt: now, UpdatedAt: now}
	if in.Active != nil {
		k.Active = *in.Active
	}
	if !in.ExpiresAt.IsZero() {
		k.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	err = s.store.Write(ctx, func(tx store.Tx) error {
		tiers, err := currentTiers(ctx, tx)
		if err != nil {
			return err
		}
		if err := validateKey(&k, now, tiers); err != nil {
			return err
		}
		if err := s.roomForKeys(ctx, tx, 1); err != nil {
			return err
		}
		if err := tx.InsertKey(ctx, k); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		return audit(ctx, tx, now, who, "key.create", k.ID, version, nil, auditKeyOf(k))
	})
	if err != nil {
		return store.Key{}, "", 0, err
	}
	return k, raw, version, nil
}

// Key returns one key.
func (s *Service) Key(ctx context.Context, id string) (k store.Key, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		k, err = tx.Key(ctx, id)
		return err
	})
	return k, err
}

// ListKeys returns up to limit keys created after the cursor, and the cursor of the next page
// (0 when this is the last).
func (s *Service) ListKeys(ctx context.Context, after int64, limit int) (keys []store.Key, next int64, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		keys, err = tx.ListKeys(ctx, after, limit+1)
		return err
	})
	keys, next = page(keys, limit, func(k store.Key) int64 { return k.Seq })
	return keys, next, err
}

// UpdateKey applies a patch. A patch that changes nothing commits nothing and publishes no new
// version (version is 0).
func (s *Service) UpdateKey(ctx context.Context, who auth.Principal, id string, p KeyPatch) (k store.Key, version uint64, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if k, err = tx.Key(ctx, id); err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return ErrRevoked
		}
		before := k
		if p.Name != nil {
			k.Name = *p.Name
		}
		if p.Active != nil {
			k.Active = *p.Active
		}
		if p.AllowedPaths != nil {
			k.AllowedPaths = *p.AllowedPaths
		}
		if p.Permissions != nil {
			k.Permissions = *p.Permissions
		}
		if p.Admin != nil {
			k.Admin = *p.Admin
		}
		if p.Staff != nil {
			k.Staff = *p.Staff
		}
		if p.Tier != nil {
			k.Tier = *p.Tier
		}
		if p.ExpiresAt != nil {
			k.ExpiresAt = time.Time{}
			if !p.ExpiresAt.IsZero() {
				k.ExpiresAt = p.ExpiresAt.UTC().Truncate(time.Microsecond)
			}
		}
		if sameKeyConfig(before, k) {
			return nil
		}
		tiers, err := currentTiers(ctx, tx)
		if err != nil {
			return err
		}
		if err := validateKey(&k, now, tiers); err != nil {
			return err
		}
		k.UpdatedAt = now
		version, err = saveKeyChange(ctx, tx, now, who, "key.update", before, k)
		return err
	})
	if err != nil {
		return store.Key{}, 0, err
	}
	return k, version, nil
}

// RevokeKey revokes a key for good: it leaves the published snapshot, so the filter rejects it
// like an unknown key. Revoking a revoked key changes nothing (version 0).
func (s *Service) RevokeKey(ctx context.Context, who auth.Principal, id string) (k store.Key, version uint64, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if k, err = tx.Key(ctx, id); err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		before := k
		k.Active, k.RevokedAt, k.UpdatedAt = false, now, now
		version, err = saveKeyChange(ctx, tx, now, who, "key.revoke", before, k)
		return err
	})
	if err != nil {
		return store.Key{}, 0, err
	}
	return k, version, nil
}

// saveKeyChange writes a changed key, publishes it as a new snapshot version and audits the
// change from before, all in tx. It returns the new version.
func saveKeyChange(ctx context.Context, tx store.Tx, now time.Time, who auth.Principal, action string, before, k store.Key) (uint64, error) {
	if err := tx.UpdateKey(ctx, k); err != nil {
		return 0, err
	}
	st, err := tx.BumpVersion(ctx, now)
	if err != nil {
		return 0, err
	}
	return st.Version, audit(ctx, tx, now, who, action, k.ID, st.Version, auditKeyOf(before), auditKeyOf(k))
}

func sameKeyConfig(a, b store.Key) bool {
	return a.Name == b.Name && a.Active == b.Active && slices.Equal(a.AllowedPaths, b.AllowedPaths) &&
		slices.Equal(a.Permissions, b.Permissions) && a.Admin == b.Admin && a.Staff == b.Staff && a.Tier == b.Tier &&
		a.ExpiresAt.Equal(b.ExpiresAt)
}

// validateKey checks a key with exactly the rules the filter applies, by encoding it into a
// one-key snapshot and decoding that as the filter would; errors name the API's fields. tiers
// are the names of the current policy's rate_limit_tiers, which the key's tier must be one of
// (the one-key snapshot leaves the tier out: it has no tiers to check it against).
func validateKey(k *store.Key, now time.Time, tiers map[string]bool) error {
	var d strictjson.Decoder
	checkKeyFields(&d, "", k, now, tiers)
	snapshotProblems([]store.Key{*k}, now, func(_ int, field, msg string) { d.Errorf(field, "%s", msg) })
	return d.Err()
}

// checkKeyFields adds the problems of k that a snapshot does not judge (the API's own bounds,
// an expiry in the past, the tier) under the path prefix ("" or "line[3].").
func checkKeyFields(d *strictjson.Decoder, prefix string, k *store.Key, now time.Time, tiers map[string]bool) {
	if k.Name == "" {
		d.Errorf(prefix+"name", "required")
	}
	if msg := tierProblem(k.Tier, tiers); msg != "" {
		d.Errorf(prefix+"tier", "%s", msg)
	}
	if len(k.AllowedPaths) > MaxListEntries {
		d.Errorf(prefix+"allowed_paths", "has %d entries, at most %d are allowed", len(k.AllowedPaths), MaxListEntries)
	}
	if len(k.Permissions) > MaxListEntries {
		d.Errorf(prefix+"permissions", "has %d entries, at most %d are allowed", len(k.Permissions), MaxListEntries)
	}
	if !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now) {
		d.Errorf(prefix+"expires_at", "must be in the future (to disable a key now, set active to false)")
	}
}

// snapshotProblems encodes keys into one snapshot and decodes it as the filter would, and
// reports each problem of keys[i] with its API field (a path inside the key, "" for the key).
// Keys with the same id or hash are reported as duplicates of each other.
func snapshotProblems(keys []store.Key, now time.Time, report func(i int, field, msg string)) {
	doc := &policy.Document{Version: policy.Version, DefaultAction: policy.ActionDeny, DefaultLimits: policy.DefaultLimitsValue(),
		Keys: make([]policy.Key, len(keys))}
	for i, k := range keys {
		doc.Keys[i] = policy.Key{ID: k.ID, Name: k.Name, SHA256: k.SHA256, Active: k.Active,
			AllowedPaths: k.AllowedPaths, Permissions: k.Permissions, Admin: k.Admin, Staff: k.Staff, ExpiresAt: k.ExpiresAt}
	}
	payload, err := snapshot.Encode(1, now, doc)
	if err == nil {
		_, err = snapshot.Decode(payload)
	}
	if err == nil {
		return
	}
	var fe *strictjson.Errors
	if !errors.As(err, &fe) {
		report(0, "", err.Error())
		return
	}
	for _, e := range fe.List {
		i, field, ok := keyPath(e.Path)
		if !ok || i >= len(keys) {
			report(0, "", e.Path+": "+e.Msg)
			continue
		}
		report(i, field, e.Msg)
	}
}

// keyPath splits "policy.keys[12].name" into 12 and "name".
func keyPath(path string) (i int, field string, ok bool) {
	rest, found := strings.CutPrefix(path, "policy.keys[")
	if !found {
		return 0, "", false
	}
	num, field, found := strings.Cut(rest, "]")
	if i, err := strconv.Atoi(num); err == nil && found {
		return i, strings.TrimPrefix(field, "."), true
	}
	return 0, "", false
}

// ErrTooManyKeys is returned when the keys a request adds would leave more live keys than the
// service allows (Options.MaxKeys: at most what a snapshot carries).
var ErrTooManyKeys = errors.New("too many keys")

// roomForKeys refuses adding n keys when the snapshot could not carry them: the control server
// would refuse to publish that version and every later one, so the request fails instead.
func (s *Service) roomForKeys(ctx context.Context, tx store.Tx, n int) error {
	// Counting is O(keys) (≈ 0.1 s at a million on PostgreSQL); below the limit by the
	// cheap upper bound, there is room without counting.
	if ever, err := tx.KeysEverStored(ctx); err != nil || ever+int64(n) <= int64(s.maxKeys) {
		return err
	}
	live, err := tx.LiveKeys(ctx)
	if err != nil {
		return err
	}
	if live+n > s.maxKeys {
		return fmt.Errorf("%w: at most %d keys that are not revoked (a snapshot carries at most %d); revoke some first",
			ErrTooManyKeys, s.maxKeys, policy.MaxKeys)
	}
	return nil
}
