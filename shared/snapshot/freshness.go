package snapshot

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FreshnessDomain separates freshness statements from every other signed thing. Version 2
// statements name the answer's kind and body; FreshnessDomainV1 is the previous format's,
// which named neither.
const (
	FreshnessDomain   = "portcullis-freshness-v2\n"
	FreshnessDomainV1 = "portcullis-freshness-v1\n"
)

// FreshnessParam is the poll query parameter by which a client asks for version 2 statements
// (FreshnessParam=2). A server answers a client that does not ask with version 1, so filters
// and control servers can be upgraded in either order: a client takes both (Open).
const FreshnessParam = "fresh"

// MaxNonceBytes bounds a poll's nonce (NonceParam).
const MaxNonceBytes = 64

// maxFreshnessBytes bounds a FreshnessHeader value: a 20-digit version, a millisecond time, a
// 64-byte nonce, a kind, 64 hex digits and 88 of base64, with separators, fit well within.
const maxFreshnessBytes = 320

// Freshness is the control server's signed statement "the current version is Version, as of
// At, in answer to the poll that sent Nonce; this answer is a Kind whose body has SHA-256
// Digest" (Kind empty: a "not modified" answer, no body). Every poll answer carries one in
// FreshnessHeader, signed as the answer is written. The nonce is fresh per poll, so an answer
// recorded earlier and replayed later — validly signed, perhaps holding a key revoked since —
// names another nonce and is refused, whatever the clocks say: the filter needs no clock
// agreement with the control server (where TUF's timestamp role needs one), and the time only
// informs. Naming the body makes this one signature vouch for the whole answer, so a
// data-plane client checks one Ed25519 signature per answer (a delta's costs a Wasm VM about
// as much as the rest of applying it), not two.
type Freshness struct {
	Version uint64
	At      time.Time // millisecond precision, the control server's clock
	Nonce   string
	Kind    string   // KindSnapshot or KindDelta; empty for "not modified"
	Digest  [32]byte // SHA-256 of the answer's body; zero when Kind is empty
	// V1 marks a statement in the previous format, which names no answer: the payload's own
	// signature must vouch for the body (Open checks it).
	V1 bool
}

// Freshness errors; each means "refuse this answer and keep the policy in force".
var (
	ErrNoFreshness        = errors.New("answer has no freshness statement")
	ErrMalformedFreshness = errors.New("freshness statement is not version;unix_ms;nonce;kind;sha256;signature")
	ErrNotThisPoll        = errors.New("freshness statement answers another poll (a replayed answer)")
	ErrBadNonce           = errors.New("nonce must be 1-64 letters, digits, '-' or '_'")
)

// SignFreshness returns the FreshnessHeader value of a "not modified" answer: version is
// current as of at, for the poll that sent nonce (CheckNonce first).
func SignFreshness(priv ed25519.PrivateKey, version uint64, at time.Time, nonce string) string {
	return Freshness{Version: version, At: at, Nonce: nonce}.Sign(priv)
}

// SignAnswerFreshness returns the FreshnessHeader value of an answer with a body: version is
// current as of at, for the poll that sent nonce, and this answer is body, a payload of kind
// (KindSnapshot or KindDelta).
func SignAnswerFreshness(priv ed25519.PrivateKey, version uint64, at time.Time, nonce, kind string, body []byte) string {
	return Freshness{Version: version, At: at, Nonce: nonce, Kind: kind, Digest: sha256.Sum256(body)}.Sign(priv)
}

// Sign returns the FreshnessHeader value of f (At is kept to the millisecond). A server that
// serves one body many times can hash it once and sign with its Digest.
func (f Freshness) Sign(priv ed25519.PrivateKey) string {
	stmt := f.statement()
	return stmt + ";" + sign(FreshnessDomain, priv, []byte(stmt))
}

// VerifyFreshness checks a FreshnessHeader value and returns the statement, in either format
// (a previous-format statement has V1 set).
func VerifyFreshness(pub ed25519.PublicKey, header string) (Freshness, error) {
	if header == "" {
		return Freshness{}, ErrNoFreshness
	}
	if len(header) > maxFreshnessBytes {
		return Freshness{}, ErrMalformedFreshness
	}
	parts := strings.Split(header, ";")
	if len(parts) == 4 {
		return verifyFreshnessV1(pub, header, parts)
	}
	if len(parts) != 6 {
		return Freshness{}, ErrMalformedFreshness
	}
	version, err1 := strconv.ParseUint(parts[0], 10, 64)
	unixMs, err2 := strconv.ParseInt(parts[1], 10, 64)
	f := Freshness{Version: version, At: time.UnixMilli(unixMs).UTC(), Nonce: parts[2], Kind: parts[3]}
	var err3 error
	switch f.Kind {
	case "":
		if parts[4] != "" {
			err3 = ErrMalformedFreshness
		}
	case KindSnapshot, KindDelta:
		if n, err := hex.Decode(f.Digest[:], []byte(parts[4])); err != nil || n != len(f.Digest) || len(parts[4]) != 2*n {
			err3 = ErrMalformedFreshness
		}
	default:
		err3 = ErrMalformedFreshness
	}
	stmt := header[:len(header)-len(parts[5])-1]
	// Only the canonical form verifies: the signature is over these exact bytes.
	if err1 != nil || err2 != nil || err3 != nil || (f.Nonce != "" && CheckNonce(f.Nonce) != nil) ||
		f.statement() != stmt {
		return Freshness{}, ErrMalformedFreshness
	}
	if err := verify(FreshnessDomain, pub, []byte(stmt), parts[5]); err != nil {
		return Freshness{}, fmt.Errorf("freshness statement: %w", err)
	}
	return f, nil
}

// Names reports whether the statement names this answer: a "not modified" one (notModified)
// or body as a payload of kind.
func (f Freshness) Names(notModified bool, kind string, body []byte) bool {
	if notModified {
		return f.Kind == ""
	}
	return f.Kind != "" && f.Kind == kind && sha256.Sum256(body) == f.Digest
}

// statement is the signed text: version;unix_ms;nonce;kind;hex digest (kind and digest empty
// for "not modified").
func (f Freshness) statement() string {
	digest := ""
	if f.Kind != "" {
		digest = hex.EncodeToString(f.Digest[:])
	}
	return strconv.FormatUint(f.Version, 10) + ";" + strconv.FormatInt(f.At.UnixMilli(), 10) + ";" +
		f.Nonce + ";" + f.Kind + ";" + digest
}

// SignFreshnessV1 returns a statement in the previous format (version;unix_ms;nonce;signature,
// domain FreshnessDomainV1), for a client that did not ask for version 2.
func SignFreshnessV1(priv ed25519.PrivateKey, version uint64, at time.Time, nonce string) string {
	stmt := strconv.FormatUint(version, 10) + ";" + strconv.FormatInt(at.UnixMilli(), 10) + ";" + nonce
	return stmt + ";" + sign(FreshnessDomainV1, priv, []byte(stmt))
}

// verifyFreshnessV1 checks a statement in the previous format (parts: its four fields).
func verifyFreshnessV1(pub ed25519.PublicKey, header string, parts []string) (Freshness, error) {
	version, err1 := strconv.ParseUint(parts[0], 10, 64)
	unixMs, err2 := strconv.ParseInt(parts[1], 10, 64)
	f := Freshness{Version: version, At: time.UnixMilli(unixMs).UTC(), Nonce: parts[2], V1: true}
	stmt := header[:len(header)-len(parts[3])-1]
	canonical := strconv.FormatUint(version, 10) + ";" + strconv.FormatInt(unixMs, 10) + ";" + f.Nonce
	if err1 != nil || err2 != nil || (f.Nonce != "" && CheckNonce(f.Nonce) != nil) || canonical != stmt {
		return Freshness{}, ErrMalformedFreshness
	}
	if err := verify(FreshnessDomainV1, pub, []byte(stmt), parts[3]); err != nil {
		return Freshness{}, fmt.Errorf("freshness statement: %w", err)
	}
	return f, nil
}

// CheckNonce reports whether s can be a poll's nonce.
func CheckNonce(s string) error {
	if s == "" || len(s) > MaxNonceBytes {
		return ErrBadNonce
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return ErrBadNonce
		}
	}
	return nil
}
