package snapshot

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrMalformedUsage is returned by ParseUsage.
var ErrMalformedUsage = errors.New("malformed usage report")

// ParseUsage parses a UsageHeader value, "key_id=count,key_id=count", into counts per key id.
// Counts of a repeated id are added. An empty value is an empty report. Values longer than
// MaxUsageBytes, empty ids, ids with characters a key id cannot have, and counts that are not
// decimal integers are errors: the caller drops the whole report rather than guess.
func ParseUsage(h string) (map[string]uint64, error) {
	if len(h) > MaxUsageBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedUsage, len(h), MaxUsageBytes)
	}
	counts := make(map[string]uint64)
	for entry := range strings.SplitSeq(h, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, n, ok := strings.Cut(entry, "=")
		if !ok || !validUsageID(id) {
			return nil, fmt.Errorf("%w: entry %q is not key_id=count", ErrMalformedUsage, truncate(entry))
		}
		c, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: count of %q is not a non-negative integer", ErrMalformedUsage, id)
		}
		sum := counts[id] + c
		if sum < c { // saturate rather than wrap
			sum = math.MaxUint64
		}
		counts[id] = sum
	}
	return counts, nil
}

// validUsageID accepts the characters policy key ids may have.
func validUsageID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
