package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/policy"
)

// Policy is the route and default part of the policy document with its ETag.
type Policy struct {
	// Document is the normalized document (every default written out), without keys.
	Document json.RawMessage
	ETag     string
	// Version is the snapshot version that last changed the policy.
	Version uint64
}

// ETag is the strong entity tag of a policy version.
func ETag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// Policy returns the current policy document.
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	var (
		p     store.Policy
		hooks []verifier.Doc
	)
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		if p, err = tx.Policy(ctx); err != nil {
			return err
		}
		hooks, err = s.openWebhooks(ctx, tx)
		return err
	})
	if err != nil {
		return Policy{}, err
	}
	doc, err := normalize(p.Document, hooks)
	if err != nil {
		return Policy{}, fmt.Errorf("stored policy: %w", err)
	}
	return Policy{Document: doc, ETag: ETag(p.Version), Version: p.Version}, nil
}

// ReplacePolicy replaces the routes and defaults with body, a policy document without keys or
// webhooks (both are managed as their own resources; routes name stored verifiers). ifMatch
// must be the current ETag or "*": optimistic concurrency, so two operators editing at once
// cannot silently overwrite each other; a malformed If-Match is ErrBadIfMatch. An invalid
// document returns the parser's *strictjson.SyntaxError or
// *strictjson.Errors; nothing is stored. Replacing the policy with an identical one publishes
// no new version (version 0).
func (s *Service) ReplacePolicy(ctx context.Context, who auth.Principal, ifMatch string, body []byte) (p Policy, version uint64, err error) {
	if strings.TrimSpace(ifMatch) == "" {
		return Policy{}, 0, ErrPreconditionRequired
	}
	if verifier.HasSection(body) {
		return Policy{}, 0, invalid("webhooks", "must not be set here: verifiers are managed with /v1/webhooks, and routes name them")
	}
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		hooks, err := s.openWebhooks(ctx, tx)
		if err != nil {
			return err
		}
		// A "keys" field, even an empty list, is refused rather than ignored: an operator who
		// sent one expects it to mean something. It is reported with the document's other
		// problems.
		doc, err := parseWithWebhooks(body, hooks, policy.Options{RefuseKeys: "must not be set here: keys are managed with /v1/keys"})
		if err != nil {
			return err
		}
		doc.Keys, doc.Webhooks = nil, nil
		normalized, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		cur, err := tx.Policy(ctx)
		if err != nil {
			return err
		}
		match, err := etagMatches(ifMatch, ETag(cur.Version))
		if err != nil {
			return err
		}
		if !match {
			return ErrPreconditionFailed
		}
		old, err := normalize(cur.Document, hooks)
		if err != nil {
			return fmt.Errorf("stored policy: %w", err)
		}
		if bytes.Equal(old, normalized) {
			p = Policy{Document: old, ETag: ETag(cur.Version), Version: cur.Version}
			return nil
		}
		if err := checkRemovedTiers(ctx, tx, cur.Document, doc); err != nil {
			return err
		}
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		version = st.Version
		if err := tx.PutPolicy(ctx, store.Policy{Document: normalized, Version: version, UpdatedAt: now}); err != nil {
			return err
		}
		p = Policy{Document: normalized, ETag: ETag(version), Version: version}
		return audit(ctx, tx, now, who, "policy.replace", "policy", version, json.RawMessage(old), json.RawMessage(normalized))
	})
	if err != nil {
		return Policy{}, 0, err
	}
	return p, version, nil
}

// normalize parses a stored document with the verifiers its routes name and writes it with
// every default filled in, without keys or verifiers.
func normalize(doc []byte, hooks []verifier.Doc) ([]byte, error) {
	d, err := parseWithWebhooks(doc, hooks, policy.Options{})
	if err != nil {
		return nil, err
	}
	d.Keys, d.Webhooks = nil, nil
	return json.Marshal(d)
}

// SeedPolicy replaces the policy of a new database (one whose policy was never changed) with
// doc, as the system; on a database whose policy has been edited it changes nothing. It lets a
// deployment start with its routes in place ("-initial-policy").
func (s *Service) SeedPolicy(ctx context.Context, doc []byte) (applied bool, err error) {
	_, version, err := s.ReplacePolicy(ctx, auth.System(), ETag(1), doc)
	if errors.Is(err, ErrPreconditionFailed) {
		return false, nil
	}
	return version > 0, err
}
