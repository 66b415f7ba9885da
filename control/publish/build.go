// Package publish builds, signs and serves the policy snapshot: the current signed snapshot is
// cached in memory, rebuilt when the store reports a new version, and handed to long polls the
// moment it exists.
package publish

import (
	"crypto/ed25519"
	"crypto/sha256"
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
	// Digest is the SHA-256 of Payload, which every answer's freshness statement names:
	// hashed once per build, not per answer (tens of megabytes at a million keys).
	Digest [sha256.Size]byte
	// Policy is the decoded payload and Engine its compiled form, for dry-run evaluation.
	Policy *policy.Document
	Engine *engine.Engine
}

// Build assembles the snapshot of state st: the stored policy document plus every key that is
// not revoked (hashes only, ordered by id), encoded canonically, validated by decoding and
// compiling it exactly as the filter will, and signed. A snapshot that fails any step is never
// signed.
func Build(st store.State, policyJSON []byte, keys []store.Key, priv ed25519.PrivateKey) (*Signed, error) {
	return BuildFrom(st, Inputs{Policy: policyJSON, Keys: keys}, priv)
}

// Inputs is the stored state a snapshot is built from.
type Inputs struct {
	Policy []byte
	Keys   []store.Key
	// Revocations are published while unexpired at the version's commit time (st.UpdatedAt),
	// so every replica building the same version leaves out the same ones.
	Revocations []store.Revocation
	// JWKS are the key sets fetched from providers' jwks_uri, by URI (canonical JSON).
	JWKS map[string][]byte
}

// BuildFrom is Build with the JWT state: revocations join the policy's revoked_tokens, and a
// provider with jwks_uri gets the key set last fetched from it (none yet: no keys, so its
// tokens are refused until the first fetch succeeds).
func BuildFrom(st store.State, in Inputs, priv ed25519.PrivateKey) (*Signed, error) {
	doc, err := outsideKeys(st, in)
	if err != nil {
		return nil, err
	}
	doc.Keys = publishedKeys(in.Keys)
	return sealSnapshot(st.Version, st.UpdatedAt, doc, priv)
}

// outsideKeys is the document of state st without its keys: the stored policy with the JWT
// state merged in.
func outsideKeys(st store.State, in Inputs) (*policy.Document, error) {
	doc, err := policy.Parse(in.Policy)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: stored policy: %w", st.Version, err)
	}
	if err := addJWTState(doc, st, in); err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", st.Version, err)
	}
	return doc, nil
}

// publishedKeys is the stored keys as the snapshot holds them, in canonical order (by id, in
// Go, not in the database's collation).
func publishedKeys(keys []store.Key) []policy.Key {
	out := make([]policy.Key, len(keys))
	for i := range keys {
		out[i] = policyKey(&keys[i])
	}
	slices.SortFunc(out, func(a, b policy.Key) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func policyKey(k *store.Key) policy.Key {
	return policy.Key{ID: k.ID, Name: k.Name, SHA256: k.SHA256, Active: k.Active,
		AllowedPaths: k.AllowedPaths, Permissions: k.Permissions, Admin: k.Admin, Staff: k.Staff, Tier: k.Tier, ExpiresAt: k.ExpiresAt}
}

// sealSnapshot encodes the document (keys in canonical order) as the snapshot of version, validates it
// by decoding and compiling it exactly as the filter will, and signs it. A snapshot that fails
// any step is never signed.
func sealSnapshot(version uint64, issuedAt time.Time, doc *policy.Document, priv ed25519.PrivateKey) (*Signed, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("build snapshot %d: signing key is %d bytes", version, len(priv))
	}
	payload, err := snapshot.Encode(version, issuedAt, doc)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", version, err)
	}
	// Validated as the filter will take it: DecodeCompact, then compiled with the key table
	// read in place (the engine dry runs use is the filter's, and the table is not encoded
	// twice). The document itself (keys as objects, in id order) is kept for checks and the
	// next version's keys: decoding the payload back would give the same document at half the
	// build's cost (TestFromWriteMatchesFullBuild compares the bytes both ways produce).
	compact, err := snapshot.DecodeCompact(payload)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", version, err)
	}
	eng, err := engine.CompileWithKeys(compact.Policy, compact.Keys)
	if err != nil {
		return nil, fmt.Errorf("build snapshot %d: %w", version, err)
	}
	return &Signed{
		Version: version, IssuedAt: compact.IssuedAt, Payload: payload,
		Signature: snapshot.Sign(priv, payload), Digest: sha256.Sum256(payload), Policy: doc, Engine: eng,
	}, nil
}

// addJWTState merges the stored revocations and fetched key sets into doc.
func addJWTState(doc *policy.Document, st store.State, in Inputs) error {
	seen := make(map[string]bool, len(doc.RevokedTokens))
	for _, r := range doc.RevokedTokens {
		seen[r.JTI] = true
	}
	var extra []policy.Revocation
	for _, r := range in.Revocations {
		if !seen[r.JTI] && !r.ExpiresAt.Before(st.UpdatedAt) {
			extra = append(extra, policy.Revocation{JTI: r.JTI, ExpiresAt: r.ExpiresAt})
		}
	}
	slices.SortFunc(extra, func(a, b policy.Revocation) int { return strings.Compare(a.JTI, b.JTI) })
	doc.RevokedTokens = append(doc.RevokedTokens, extra...)
	for i := range doc.JWTProviders {
		p := &doc.JWTProviders[i]
		if p.JWKSURI == "" {
			continue
		}
		if data, ok := in.JWKS[p.JWKSURI]; ok {
			set, err := policy.ParseJWKS(data)
			if err != nil {
				return fmt.Errorf("jwt_providers[%d]: fetched key set: %w", i, err)
			}
			p.JWKS = set
		}
	}
	return nil
}
