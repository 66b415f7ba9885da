package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
)

// A key's tier must name one of the current policy's rate_limit_tiers, checked when the key is
// written. A policy update that would drop a tier keys still name is refused with
// *TierInUseError rather than letting those keys fall back to the "default" tier: a fallback
// silently changes a customer's limits (often to far lower ones, or to none when the policy has
// no default), while the refusal names the keys so the operator moves them first.

// tierListLimit bounds the key ids a TierInUseError lists per tier.
const tierListLimit = 20

// TierInUseError refuses a policy update that removes rate-limit tiers that keys still name.
type TierInUseError struct {
	Tiers []TierUse
}

// TierUse is one removed tier and the keys (not revoked) that name it.
type TierUse struct {
	Tier string
	// KeyIDs are the first keys by id, at most 20; Total counts them all.
	KeyIDs []string
	Total  int
}

func (e *TierInUseError) Error() string {
	names := make([]string, len(e.Tiers))
	for i, u := range e.Tiers {
		names[i] = fmt.Sprintf("%q (%d keys)", u.Tier, u.Total)
	}
	return "the policy removes rate-limit tiers that keys still name: " + strings.Join(names, ", ") +
		"; move those keys to another tier (PATCH /v1/keys/{id} with \"tier\") or revoke them first"
}

// tierNames returns the names of the rate_limit_tiers of a stored policy document.
func tierNames(doc []byte) (map[string]bool, error) {
	var d struct {
		Tiers []struct {
			Name string `json:"name"`
		} `json:"rate_limit_tiers"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("stored policy: %w", err)
	}
	names := make(map[string]bool, len(d.Tiers))
	for _, t := range d.Tiers {
		names[t.Name] = true
	}
	return names, nil
}

// currentTiers returns the tier names of the policy stored in tx.
func currentTiers(ctx context.Context, tx store.Tx) (map[string]bool, error) {
	p, err := tx.Policy(ctx)
	if err != nil {
		return nil, err
	}
	return tierNames(p.Document)
}

// readTiers is currentTiers in a read transaction of its own.
func (s *Service) readTiers(ctx context.Context) (tiers map[string]bool, err error) {
	err = s.store.Read(ctx, func(tx store.Tx) error {
		tiers, err = currentTiers(ctx, tx)
		return err
	})
	return tiers, err
}

// tierProblem says what is wrong with a key's tier given the policy's tiers ("" if nothing).
func tierProblem(tier string, tiers map[string]bool) string {
	if tier == "" || tiers[tier] {
		return ""
	}
	known := make([]string, 0, len(tiers))
	for name := range tiers {
		known = append(known, name)
	}
	slices.Sort(known)
	if len(known) == 0 {
		return fmt.Sprintf("names no rate_limit_tiers entry (%.64q): the policy defines no tiers", tier)
	}
	return fmt.Sprintf("names no rate_limit_tiers entry (%.64q): the policy defines %s", tier, strings.Join(known, ", "))
}

// checkRemovedTiers refuses doc, the new policy, when it drops a tier of old, the stored
// document, that keys still name.
func checkRemovedTiers(ctx context.Context, tx store.Tx, old []byte, doc *policy.Document) error {
	before, err := tierNames(old)
	if err != nil {
		return err
	}
	for _, t := range doc.RateLimitTiers {
		delete(before, t.Name)
	}
	removed := make([]string, 0, len(before))
	for name := range before {
		removed = append(removed, name)
	}
	slices.Sort(removed)
	var e TierInUseError
	for _, name := range removed {
		ids, total, err := tx.KeysInTiers(ctx, []string{name}, tierListLimit)
		if err != nil {
			return err
		}
		if total > 0 {
			e.Tiers = append(e.Tiers, TierUse{Tier: name, KeyIDs: ids, Total: total})
		}
	}
	if len(e.Tiers) > 0 {
		return &e
	}
	return nil
}
