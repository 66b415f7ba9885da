package snapshot

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FreshnessDomain separates freshness statements from every other signed thing.
const FreshnessDomain = "portcullis-freshness-v1\n"

// MaxNonceBytes bounds a poll's nonce (NonceParam).
const MaxNonceBytes = 64

// Freshness is the control server's signed statement "the current version is Version, as of
// At, in answer to the poll that sent Nonce". Every poll answer carries one in FreshnessHeader,
// signed as the answer is written. The nonce is fresh per poll, so an answer recorded earlier
// and replayed later — validly signed, perhaps holding a key revoked since — names another
// nonce and is refused, whatever the clocks say: the filter needs no clock agreement with the
// control server (where TUF's timestamp role needs one), and the time only informs.
type Freshness struct {
	Version uint64
	At      time.Time // millisecond precision, the control server's clock
	Nonce   string
}

// Freshness errors; each means "refuse this answer and keep the policy in force".
var (
	ErrNoFreshness        = errors.New("answer has no freshness statement")
	ErrMalformedFreshness = errors.New("freshness statement is not version;unix_ms;nonce;signature")
	ErrNotThisPoll        = errors.New("freshness statement answers another poll (a replayed answer)")
	ErrBadNonce           = errors.New("nonce must be 1-64 letters, digits, '-' or '_'")
)

// SignFreshness returns the FreshnessHeader value stating version as of at, for the poll that
// sent nonce (CheckNonce first).
func SignFreshness(priv ed25519.PrivateKey, version uint64, at time.Time, nonce string) string {
	stmt := freshnessStatement(version, at.UnixMilli(), nonce)
	return stmt + ";" + sign(FreshnessDomain, priv, []byte(stmt))
}

// VerifyFreshness checks a FreshnessHeader value and returns the statement.
func VerifyFreshness(pub ed25519.PublicKey, header string) (Freshness, error) {
	if header == "" {
		return Freshness{}, ErrNoFreshness
	}
	parts := strings.Split(header, ";")
	if len(parts) != 4 || len(header) > 256 {
		return Freshness{}, ErrMalformedFreshness
	}
	version, err1 := strconv.ParseUint(parts[0], 10, 64)
	unixMs, err2 := strconv.ParseInt(parts[1], 10, 64)
	stmt := header[:len(header)-len(parts[3])-1]
	// Only the canonical form verifies: the signature is over these exact bytes.
	if err1 != nil || err2 != nil || (parts[2] != "" && CheckNonce(parts[2]) != nil) ||
		freshnessStatement(version, unixMs, parts[2]) != stmt {
		return Freshness{}, ErrMalformedFreshness
	}
	if err := verify(FreshnessDomain, pub, []byte(stmt), parts[3]); err != nil {
		return Freshness{}, fmt.Errorf("freshness statement: %w", err)
	}
	return Freshness{Version: version, At: time.UnixMilli(unixMs).UTC(), Nonce: parts[2]}, nil
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

func freshnessStatement(version uint64, unixMs int64, nonce string) string {
	return strconv.FormatUint(version, 10) + ";" + strconv.FormatInt(unixMs, 10) + ";" + nonce
}
