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

// Freshness is the control server's signed statement "the current version is Version, as of
// At". Every poll answer carries one in FreshnessHeader, signed when the answer is written, so
// an answer recorded earlier and replayed later is old on its face: the filter refuses answers
// whose statement is older than its window (the role of TUF's timestamp metadata).
type Freshness struct {
	Version uint64
	At      time.Time // millisecond precision
}

// Freshness errors; each means "refuse this answer and keep the policy in force".
var (
	ErrNoFreshness        = errors.New("answer has no freshness statement")
	ErrMalformedFreshness = errors.New("freshness statement is not version;unix_ms;signature")
	ErrStaleAnswer        = errors.New("answer is older than the freshness window (replayed or the server's clock is off)")
)

// SignFreshness returns the FreshnessHeader value stating version as of at.
func SignFreshness(priv ed25519.PrivateKey, version uint64, at time.Time) string {
	stmt := freshnessStatement(version, at.UnixMilli())
	return stmt + ";" + sign(FreshnessDomain, priv, []byte(stmt))
}

// VerifyFreshness checks a FreshnessHeader value and returns the statement.
func VerifyFreshness(pub ed25519.PublicKey, header string) (Freshness, error) {
	if header == "" {
		return Freshness{}, ErrNoFreshness
	}
	i := strings.LastIndexByte(header, ';')
	if i < 0 || len(header) > 200 {
		return Freshness{}, ErrMalformedFreshness
	}
	stmt, sig := header[:i], header[i+1:]
	v, ms, ok := strings.Cut(stmt, ";")
	if !ok {
		return Freshness{}, ErrMalformedFreshness
	}
	version, err1 := strconv.ParseUint(v, 10, 64)
	unixMs, err2 := strconv.ParseInt(ms, 10, 64)
	// Only the canonical form verifies: the signature is over these exact bytes.
	if err1 != nil || err2 != nil || freshnessStatement(version, unixMs) != stmt {
		return Freshness{}, ErrMalformedFreshness
	}
	if err := verify(FreshnessDomain, pub, []byte(stmt), sig); err != nil {
		return Freshness{}, fmt.Errorf("freshness statement: %w", err)
	}
	return Freshness{Version: version, At: time.UnixMilli(unixMs).UTC()}, nil
}

// Within reports an error unless f was made no more than window before now. A statement from
// up to window in the future is accepted too (clock skew between server and filter).
func (f Freshness) Within(now time.Time, window time.Duration) error {
	if age := now.Sub(f.At); age > window || age < -window {
		return fmt.Errorf("%w: made %v ago, window %v", ErrStaleAnswer, age.Round(time.Millisecond), window)
	}
	return nil
}

func freshnessStatement(version uint64, unixMs int64) string {
	return strconv.FormatUint(version, 10) + ";" + strconv.FormatInt(unixMs, 10)
}
