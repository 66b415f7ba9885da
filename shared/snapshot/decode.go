package snapshot

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// ErrMalformed wraps every Decode error. The wrapped error is a *strictjson.SyntaxError for
// malformed JSON or a *strictjson.Errors listing each problem with its JSON path, e.g.
// "policy.routes[2].name: required".
var ErrMalformed = errors.New("malformed snapshot")

// Decode parses and validates a payload (after Verify accepted it) in one pass. The policy is
// decoded and validated by policy.Read, exactly as an inline policy is.
func Decode(payload []byte) (*Snapshot, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	var (
		s    Snapshot
		r    = strictjson.NewReader(payload)
		seen [3]bool // version, issued_at, policy
	)
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		switch k {
		case "version":
			seen[0] = true
			s.Version = readVersion(r, k)
		case "issued_at":
			seen[1] = true
			s.IssuedAt = r.Time("", k)
		case "policy":
			seen[2] = true
			s.Policy = policy.Read(r, k)
		default:
			r.Unknown("", k)
		}
	}
	if isObject {
		for i, name := range [...]string{"version", "issued_at", "policy"} {
			if !seen[i] {
				r.Errorf(name, "required")
			}
		}
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &s, nil
}

func readVersion(r *strictjson.Reader, field string) uint64 {
	lit, ok := r.Number("", field, "a positive integer")
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(lit, 10, 64)
	if err != nil || n == 0 {
		r.Errorf(field, "must be a positive integer below 2^64")
		return 0
	}
	return n
}
