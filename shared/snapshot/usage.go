package snapshot

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrMalformedUsage is returned by ParseUsage.
var ErrMalformedUsage = errors.New("malformed usage report")

// Use is one key's entry in a usage report: how many requests the key authenticated since the
// last report, and when the last of them arrived (by the filter's clock). A zero Last means the
// reporter did not say; the control server then takes the time the report arrived.
type Use struct {
	Count uint64
	Last  time.Time
}

// Add merges v into u: counts add (saturating rather than wrapping), the later time wins.
func (u Use) Add(v Use) Use {
	sum := u.Count + v.Count
	if sum < u.Count {
		sum = math.MaxUint64
	}
	last := u.Last
	if v.Last.After(last) {
		last = v.Last
	}
	return Use{Count: sum, Last: last}
}

// maxUsageMillis bounds a reported time (the end of year 9999): a larger number is garbage.
const maxUsageMillis = 253402300799999

// ParseUsage parses a UsageHeader value, "key_id=count@unix_ms,key_id=count,…", into each key
// id's use. The "@unix_ms" part is the time of the key's last use in Unix milliseconds and may
// be left out (filters before it was added). Entries of a repeated id are merged (Use.Add). An
// empty value is an empty report. Values longer than MaxUsageBytes, empty ids, ids with
// characters a key id cannot have, and counts or times that are not decimal integers are
// errors: the caller drops the whole report rather than guess.
func ParseUsage(h string) (map[string]Use, error) {
	if len(h) > MaxUsageBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedUsage, len(h), MaxUsageBytes)
	}
	return ParseUsageEntries(h)
}

// ParseUsageEntries is ParseUsage without the MaxUsageBytes bound, for a value whose size the
// caller bounds itself (the filter's pool of uses in shared data, several reports long).
func ParseUsageEntries(h string) (map[string]Use, error) {
	uses := make(map[string]Use)
	for entry := range strings.SplitSeq(h, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, rest, ok := strings.Cut(entry, "=")
		if !ok || !validUsageID(id) {
			return nil, fmt.Errorf("%w: entry %q is not key_id=count", ErrMalformedUsage, truncate(entry))
		}
		n, ms, timed := strings.Cut(rest, "@")
		c, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: count of %q is not a non-negative integer", ErrMalformedUsage, id)
		}
		u := Use{Count: c}
		if timed {
			t, err := strconv.ParseUint(ms, 10, 64)
			if err != nil || t > maxUsageMillis {
				return nil, fmt.Errorf("%w: time of %q is not Unix milliseconds", ErrMalformedUsage, id)
			}
			u.Last = time.UnixMilli(int64(t)).UTC()
		}
		uses[id] = uses[id].Add(u)
	}
	return uses, nil
}

// EncodeUsage writes uses as a UsageHeader value, the inverse of ParseUsage. With limit > 0 it
// leaves out entries that would take it past limit bytes and records the ones it wrote in
// taken, so a report that does not fit goes out over several polls.
func EncodeUsage(uses map[string]Use, limit int, taken map[string]Use) []byte {
	var buf []byte
	for id, u := range uses {
		if limit > 0 && len(buf)+1+UsageEntryLen(id, u) > limit {
			continue
		}
		if len(buf) > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, id...)
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, u.Count, 10)
		if ms, ok := usageMillis(u.Last); ok {
			buf = append(buf, '@')
			buf = strconv.AppendInt(buf, ms, 10)
		}
		if taken != nil {
			taken[id] = u
		}
	}
	return buf
}

// UsageEntryLen is the length EncodeUsage gives one entry, without its separator.
func UsageEntryLen(id string, u Use) int {
	n := len(id) + 1 + decimalLen(u.Count)
	if ms, ok := usageMillis(u.Last); ok {
		n += 1 + decimalLen(uint64(ms))
	}
	return n
}

// usageMillis is t in Unix milliseconds, if t is a time a report can carry.
func usageMillis(t time.Time) (int64, bool) {
	ms := t.UnixMilli()
	return ms, !t.IsZero() && ms >= 0 && ms <= maxUsageMillis
}

func decimalLen(n uint64) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
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
