// Package publish builds, signs and serves the policy snapshot: the current signed snapshot is
// cached in memory, rebuilt when the store reports a new version, and handed to long polls the
// moment it exists.
package publish

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Signed is one published snapshot. It is immutable.
type Signed struct {
	Version   uint64
	IssuedAt  time.Time
	Payload   []byte // the signed bytes, served as the response body
	Signature string // base64, served in snapshot.SignatureHeader
	// Policy is the decoded payload and Engine its compiled form, for dry-run evaluation.
	Policy *policy.Document
	Engine *engine.Engine
}

// Build assembles the snapshot of state st: the stored policy document plus every key that is
// not revoked (hashes only, ordered by id), encoded canonically, validated by decoding it
// exactly as the filter will, compiled, and signed. A snapshot that fails any step is never
// signed.
func Build(st store.State, policyJSON []byte, keys []store.Key, priv ed25519.PrivateKey) (*Signed, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("build snapshot %d: signing key is %d bytes", st.Version, len(priv))
	}
	doc, err := policy.Parse(policyJSON)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: stored policy: %w", st.Version, err)
	}
	doc.Keys = make([]policy.Key, len(keys))
	for i, k := range keys {
		doc.Keys[i] = policy.Key{ID: k.ID, Name: k.Name, SHA256: k.SHA256, Active: k.Active,
			AllowedPaths: k.AllowedPaths, Permissions: k.Permissions, Admin: k.Admin, Staff: k.Staff, ExpiresAt: k.ExpiresAt}
	}
	// Canonical order in Go, not the database's collation.
	slices.SortFunc(doc.Keys, func(a, b policy.Key) int { return strings.Compare(a.ID, b.ID) })
	payload, err := snapshot.Encode(st.Version, st.UpdatedAt, doc)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	decoded, err := snapshot.Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	eng, err := engine.Compile(decoded.Policy)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	return &Signed{
		Version: st.Version, IssuedAt: decoded.IssuedAt, Payload: payload,
		Signature: snapshot.Sign(priv, payload), Policy: decoded.Policy, Engine: eng,
	}, nil
}
