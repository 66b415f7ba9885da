package snapshot

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// Reply is one poll answer as a data-plane client received it.
type Reply struct {
	NotModified bool   // status 304
	Kind        string // PayloadHeader: KindSnapshot (or empty) or KindDelta
	Signature   string // SignatureHeader (the payload's own; Open does not need it)
	Freshness   string // FreshnessHeader
	Body        []byte
}

// Answer is a Reply that Open accepted: exactly one of Snapshot and Delta is set, or neither
// when the held version is still current. Fresh is the verified freshness statement.
type Answer struct {
	Snapshot *Snapshot
	Delta    *Delta
	Fresh    Freshness
}

// Errors of Open besides the verification and decoding ones; each means "refuse the answer and
// keep the policy in force". ErrWrongBase means the client should ask for a full snapshot.
var (
	ErrNotNewer        = errors.New("snapshot is not newer than the version held")
	ErrWrongBase       = errors.New("delta does not start at the version held")
	ErrVersionMismatch = errors.New("freshness statement names another version than the answer")
	ErrNotThisAnswer   = errors.New("freshness statement names another answer (kind or body) than the one received")
	ErrUnknownKind     = errors.New("unknown payload kind")
)

// Open is the data-plane client's whole check of a poll answer, for a client holding version
// held (0: none) whose poll sent nonce: the freshness statement first — its signature, that it
// answers this poll (a replayed answer names another nonce), and that it names this answer's
// kind and body (SHA-256) — then decoding, then the version rules: a snapshot must be newer
// than held, a delta must start at held, and either must be the version the statement names;
// a "not modified" must name held itself.
//
// # Notes
//
// One Ed25519 signature is checked per answer: the statement covers the body, so the
// payload's own signature (Reply.Signature, still sent for tools that keep a payload apart
// from its answer, and for clients of the previous format) is not needed here. A statement in
// the previous format (from a control server older than this client, or one answering a
// client that did not ask for version 2) names no body: then the payload's own signature is
// checked too, two checks as before.
func Open(pub ed25519.PublicKey, held uint64, nonce string, rep Reply) (*Answer, error) {
	f, err := VerifyFreshness(pub, rep.Freshness)
	if err != nil {
		return nil, err
	}
	if f.Nonce != nonce {
		return nil, ErrNotThisPoll
	}
	kind := rep.Kind
	switch {
	case rep.NotModified:
	case kind == "":
		kind = KindSnapshot // servers before the delta protocol sent no kind
	case kind != KindSnapshot && kind != KindDelta:
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, rep.Kind)
	}
	switch {
	case !f.V1:
		if !f.Names(rep.NotModified, kind, rep.Body) {
			return nil, ErrNotThisAnswer
		}
	case rep.NotModified:
	case kind == KindDelta: // a statement in the previous format names no body: the payload's
		// own signature vouches for it, as before version 2
		if err := VerifyDelta(pub, rep.Body, rep.Signature); err != nil {
			return nil, err
		}
	default:
		if err := Verify(pub, rep.Body, rep.Signature); err != nil {
			return nil, err
		}
	}
	a := &Answer{Fresh: f}
	var got uint64
	switch {
	case rep.NotModified:
		got = held
	case kind == KindDelta:
		if a.Delta, err = DecodeDelta(rep.Body); err != nil {
			return nil, err
		}
		if a.Delta.Base != held {
			return nil, fmt.Errorf("%w: delta from %d, holding %d", ErrWrongBase, a.Delta.Base, held)
		}
		got = a.Delta.Version
	default:
		if a.Snapshot, err = DecodeCompact(rep.Body); err != nil {
			return nil, err
		}
		if a.Snapshot.Version <= held {
			return nil, fmt.Errorf("version %d: %w %d", a.Snapshot.Version, ErrNotNewer, held)
		}
		got = a.Snapshot.Version
	}
	if f.Version != got {
		return nil, fmt.Errorf("%w: answer is version %d, statement %d", ErrVersionMismatch, got, f.Version)
	}
	return a, nil
}
