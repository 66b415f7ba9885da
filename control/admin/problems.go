package admin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// WithCheck returns every problem of a request at once: decodeErr, the field errors of decoding
// its body, together with what check — the operation's validation, run on whatever did decode —
// finds in the other fields. A field that failed to decode is not checked again (its zero value
// would only produce follow-on errors such as "required"), and a body that failed as a whole
// (not an object, malformed JSON) is not checked at all.
func WithCheck(decodeErr error, check func() error) error {
	var de *strictjson.Errors
	if !errors.As(decodeErr, &de) {
		return decodeErr
	}
	var ce *strictjson.Errors
	if !errors.As(check(), &ce) {
		return decodeErr
	}
	failed := make(map[string]bool, len(de.List))
	for _, e := range de.List {
		if e.Path == "" {
			return decodeErr
		}
		failed[topField(e.Path)] = true
	}
	out := &strictjson.Errors{List: append([]strictjson.FieldError(nil), de.List...), Dropped: de.Dropped}
	for _, e := range ce.List {
		switch {
		case failed[topField(e.Path)]:
		case len(out.List) < strictjson.MaxErrors:
			out.List = append(out.List, e)
		default:
			out.Dropped++
		}
	}
	return out
}

// topField is the request field a path is in: "permissions" for "permissions[2]".
func topField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// placeholder identity for checking a key that is not being created: a valid id and hash.
const (
	checkID     = "key_check"
	checkSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// CheckNewKey validates in as CreateKey would, storing nothing.
func (s *Service) CheckNewKey(ctx context.Context, in NewKey) error {
	tiers, err := s.readTiers(ctx)
	if err != nil {
		return err
	}
	k := store.Key{ID: checkID, SHA256: checkSHA256, Name: in.Name, Active: true,
		AllowedPaths: in.AllowedPaths, Permissions: in.Permissions, Tier: in.Tier, ExpiresAt: in.ExpiresAt}
	return validateKey(&k, s.now(), tiers)
}

// CheckKeyPatch validates the fields p sets as UpdateKey would, storing nothing; the fields it
// leaves alone are taken as valid.
func (s *Service) CheckKeyPatch(ctx context.Context, p KeyPatch) error {
	tiers, err := s.readTiers(ctx)
	if err != nil {
		return err
	}
	k := store.Key{ID: checkID, SHA256: checkSHA256, Name: "unchanged", Active: true}
	if p.Name != nil {
		k.Name = *p.Name
	}
	if p.AllowedPaths != nil {
		k.AllowedPaths = *p.AllowedPaths
	}
	if p.Permissions != nil {
		k.Permissions = *p.Permissions
	}
	if p.Tier != nil {
		k.Tier = *p.Tier
	}
	if p.ExpiresAt != nil && !p.ExpiresAt.IsZero() {
		k.ExpiresAt = p.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	return validateKey(&k, s.now(), tiers)
}
