package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// ErrMalformed wraps every Decode error. The wrapped error is a *strictjson.SyntaxError for
// malformed JSON, a *strictjson.Errors listing each problem with its JSON path, e.g.
// "policy.routes[2].name: required", or a keytable.ErrMalformed.
var ErrMalformed = errors.New("malformed snapshot")

// Decode parses and validates a payload (after Verify accepted it) into a complete policy
// document: the keys of its key table become Policy.Keys, in id order (the table is in hash
// order), and are validated exactly as JSON keys are. The control server and tests use it; the
// filter uses DecodeCompact.
func Decode(payload []byte) (*Snapshot, error) {
	s, err := DecodeCompact(payload)
	if err != nil || s.Keys == nil {
		return s, err
	}
	keys := make([]policy.Key, s.Keys.Len())
	for i := range keys {
		keys[i] = s.Keys.At(i).Policy()
	}
	slices.SortFunc(keys, func(a, b policy.Key) int { return strings.Compare(a.ID, b.ID) })
	s.Policy.Keys, s.Keys = keys, nil
	if err := policy.ValidateKeys(s.Policy, "policy"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}

// DecodeCompact parses and validates a payload (after Verify accepted it), leaving the keys in
// the key table (Snapshot.Keys) that the filter looks keys up in: decoding them is a copy and
// one checking pass, not a parse. The policy is decoded and validated by policy.Read, exactly
// as an inline policy is. A payload without a key table may still list keys in its JSON.
func DecodeCompact(payload []byte) (*Snapshot, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	doc, table := payload, []byte(nil)
	// JSON never holds a raw line feed inside a string, and the canonical JSON none at all, so
	// the first line feed followed by the table's magic ends the JSON.
	if i := bytes.Index(payload, []byte("\n"+keytable.Magic)); i >= 0 {
		doc, table = payload[:i], payload[i+1:]
	}
	s, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if table == nil {
		return s, nil
	}
	if len(s.Policy.Keys) > 0 {
		return nil, fmt.Errorf("%w: keys both in policy.keys and in the key table", ErrMalformed)
	}
	if s.Keys, err = keytable.Parse(table); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for _, name := range s.Keys.Tiers() {
		if !hasTier(s.Policy, name) {
			return nil, fmt.Errorf("%w: the key table names tier %q, which policy.rate_limit_tiers does not define", ErrMalformed, name)
		}
	}
	return s, nil
}

func hasTier(doc *policy.Document, name string) bool {
	for _, t := range doc.RateLimitTiers {
		if t.Name == name {
			return true
		}
	}
	return false
}

func decodeJSON(payload []byte) (*Snapshot, error) {
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
