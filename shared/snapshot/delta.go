package snapshot

import (
	"crypto/ed25519"
	"fmt"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// DeltaDomain separates delta signatures from snapshot signatures: a delta's signature never
// verifies as a snapshot's, nor the other way round.
const DeltaDomain = "portcullis-delta-v1\n"

// Delta is one decoded, validated delta: the changes that turn the policy of version Base into
// the policy of version Version. Its payload is
//
//	{"base": B, "version": V, "issued_at": "RFC 3339", "changes": {"put_keys": [...],
//	 "remove_keys": [{"id", "sha256"}], "put_revocations": [...], "remove_revocations": [jti],
//	 "put_webhooks": [...], "remove_webhooks": [name]}}
//
// (the webhook fields only when not empty)
//
// with B < V, and the changes in the canonical order EncodeDelta writes.
type Delta struct {
	Base, Version uint64
	IssuedAt      time.Time
	Changes       *policy.Changes
}

// EncodeDelta writes the canonical payload of d. The same delta always gives the same bytes,
// so replicas answering the same base and version sign identical deltas.
func EncodeDelta(d *Delta) ([]byte, error) {
	switch {
	case d == nil || d.Changes == nil:
		return nil, fmt.Errorf("%w: no delta", ErrInvalidInput)
	case d.Base == 0 || d.Version <= d.Base:
		return nil, fmt.Errorf("%w: delta from version %d to %d", ErrInvalidInput, d.Base, d.Version)
	case d.IssuedAt.IsZero():
		return nil, fmt.Errorf("%w: issued_at is zero", ErrInvalidInput)
	}
	c := d.Changes
	e := encoder{buf: make([]byte, 0, 256+len(c.PutKeys)*192+len(c.RemoveKeys)*96+len(c.PutRevocations)*96)}
	e.raw(`{"base":`)
	e.buf = strconv.AppendUint(e.buf, d.Base, 10)
	e.raw(`,"version":`)
	e.buf = strconv.AppendUint(e.buf, d.Version, 10)
	e.raw(`,"issued_at":`)
	e.time(d.IssuedAt)
	e.raw(`,"changes":{"put_keys":[`)
	for i := range c.PutKeys {
		if i > 0 {
			e.raw(`,`)
		}
		e.key(&c.PutKeys[i])
	}
	e.raw(`],"remove_keys":[`)
	for i, k := range c.RemoveKeys {
		if i > 0 {
			e.raw(`,`)
		}
		e.raw(`{"id":`)
		e.str(k.ID)
		e.raw(`,"sha256":`)
		e.str(k.SHA256)
		e.raw(`}`)
	}
	e.raw(`],"put_revocations":[`)
	e.revocations(c.PutRevocations)
	e.raw(`],"remove_revocations":`)
	e.strs(c.RemoveRevocations)
	// Only when there are any: a filter of a release without verifier deltas then still reads
	// every key delta.
	if len(c.PutWebhooks) > 0 {
		e.raw(`,"put_webhooks":[`)
		for i := range c.PutWebhooks {
			if i > 0 {
				e.raw(`,`)
			}
			e.webhook(&c.PutWebhooks[i])
		}
		e.raw(`]`)
	}
	if len(c.RemoveWebhooks) > 0 {
		e.raw(`,"remove_webhooks":`)
		e.strs(c.RemoveWebhooks)
	}
	e.raw(`}}`)
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
}

// key writes one key of a delta: deltas carry their few keys as JSON objects, while a full
// snapshot carries its keys in the binary key table.
func (e *encoder) key(k *policy.Key) {
	e.raw(`{"id":`)
	e.str(k.ID)
	if k.Name != "" {
		e.raw(`,"name":`)
		e.str(k.Name)
	}
	e.raw(`,"sha256":`)
	e.str(k.SHA256)
	if k.Active {
		e.raw(`,"active":true`)
	} else {
		e.raw(`,"active":false`)
	}
	if len(k.AllowedPaths) > 0 {
		e.raw(`,"allowed_paths":`)
		e.strs(k.AllowedPaths)
	}
	if len(k.Permissions) > 0 {
		e.raw(`,"permissions":`)
		e.strs(k.Permissions)
	}
	if k.Admin {
		e.raw(`,"admin":true`)
	}
	if k.Staff {
		e.raw(`,"staff":true`)
	}
	if !k.ExpiresAt.IsZero() {
		e.raw(`,"expires_at":`)
		e.time(k.ExpiresAt)
	}
	if k.Tier != "" {
		e.raw(`,"tier":`)
		e.str(k.Tier)
	}
	e.raw(`}`)
}

// DecodeDelta parses and validates a delta payload (after VerifyDelta accepted it).
func DecodeDelta(payload []byte) (*Delta, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	var (
		d    Delta
		r    = strictjson.NewReader(payload)
		seen [4]bool // base, version, issued_at, changes
	)
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		switch k {
		case "base":
			seen[0] = true
			d.Base = readVersion(r, k)
		case "version":
			seen[1] = true
			d.Version = readVersion(r, k)
		case "issued_at":
			seen[2] = true
			d.IssuedAt = r.Time("", k)
		case "changes":
			seen[3] = true
			d.Changes = policy.ReadChanges(r, k)
		default:
			r.Unknown("", k)
		}
	}
	if isObject {
		for i, name := range [...]string{"base", "version", "issued_at", "changes"} {
			if !seen[i] {
				r.Errorf(name, "required")
			}
		}
		if d.Base != 0 && d.Version != 0 && d.Version <= d.Base {
			r.Errorf("version", "must be above base (%d)", d.Base)
		}
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &d, nil
}

// SignDelta signs DeltaDomain followed by payload (see Sign).
func SignDelta(priv ed25519.PrivateKey, payload []byte) string {
	return sign(DeltaDomain, priv, payload)
}

// VerifyDelta checks a delta signature (see Verify).
func VerifyDelta(pub ed25519.PublicKey, payload []byte, sig string) error {
	return verify(DeltaDomain, pub, payload, sig)
}
