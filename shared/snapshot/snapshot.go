package snapshot

import (
	"time"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
)

// Domain is prepended to the payload before signing, so that a signature made for a snapshot can
// never be replayed as a signature over anything else the same key might sign.
const Domain = "portcullis-snapshot-v1\n"

// The poll protocol. Header names are lower case, as proxy-wasm hosts report them.
const (
	// PollPath is the control server's snapshot endpoint:
	// GET PollPath?version=N&wait=S with "Authorization: Bearer <data-plane token>".
	PollPath = "/v1/snapshot"
	// PublicKeyPath answers {"public_key": "<base64>"}.
	PublicKeyPath = "/v1/snapshot/public-key"
	// SignatureHeader carries the base64 Ed25519 signature of a 200 answer.
	SignatureHeader = "x-portcullis-signature"
	// VersionHeader repeats the payload's version (informational; the payload is authoritative).
	VersionHeader = "x-portcullis-snapshot-version"
	// UsageHeader carries per-key use on a poll request: "key_id=count@unix_ms,…" (ParseUsage,
	// EncodeUsage).
	UsageHeader = "x-portcullis-usage"
	// FreshnessHeader carries the signed freshness statement on every poll answer, 200 and
	// 304 alike: "version;unix_ms;nonce;kind;sha256;signature" (SignFreshness for a 304,
	// SignAnswerFreshness for a 200, VerifyFreshness).
	FreshnessHeader = "x-portcullis-freshness"
	// PayloadHeader says what a 200 answer's body is: KindSnapshot (the default when absent)
	// or KindDelta. It is not signed; a wrong kind only makes the signature check fail.
	PayloadHeader = "x-portcullis-payload"
	KindSnapshot  = "snapshot"
	KindDelta     = "delta"
	// DeltaParam=1 on a poll says the client applies deltas; without it the answer is always
	// a full snapshot.
	DeltaParam = "delta"
	// IssuedParam on a poll is the issued_at of the version held, in Unix microseconds. With
	// it the server tells a version it published from one with the same number that a
	// database restored from a backup never saw (and then moves past it).
	IssuedParam = "issued"
	// NonceParam on a poll is a value fresh per poll (CheckNonce) that the answer's freshness
	// statement must repeat.
	NonceParam = "nonce"
	// MaxUsageBytes bounds the UsageHeader value.
	MaxUsageBytes = 8 << 10
	// DefaultWait and MaxWait bound how long (seconds) the server holds a poll open.
	DefaultWait = 25
	MaxWait     = 60
)

// Snapshot is one decoded, validated snapshot.
type Snapshot struct {
	// Version is positive and grows with every published change.
	Version uint64
	// IssuedAt is when the control server committed this version.
	IssuedAt time.Time
	// Policy is the policy: routes, defaults and, from Decode, the keys (hashes only).
	Policy *policy.Document
	// Keys is the key table when DecodeCompact read one (Policy.Keys is then empty); nil
	// otherwise, and always nil from Decode.
	Keys *keytable.Table
}
