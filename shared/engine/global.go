package engine

import (
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Global limits are counted by a rate-limit service speaking Envoy's rate limit service
// protocol (envoy.service.ratelimit.v3) over its HTTP/JSON mapping: the filter POSTs a
// RateLimitRequest to /json and reads the status (200 OK, 429 over the limit, anything else a
// failure) and, when over, the RateLimitResponse's durationUntilReset. The local bucket has
// already counted the request (the first line: a single instance never forwards what it
// refuses alone).

// GlobalLimit is a limit the filter still has to count in the global rate-limit service after
// the local bucket let the request through.
type GlobalLimit struct {
	Name         string
	Scope, Value uint64
	Rate, Burst  int64
	Per          string
	// FailDeny refuses the request when the service cannot be reached.
	FailDeny bool
}

func globalLimit(l *rateLimit, value uint64) GlobalLimit {
	return GlobalLimit{Name: l.name, Scope: l.scope, Value: value, Rate: l.rate, Burst: l.burst, Per: l.per, FailDeny: l.failDeny}
}

// Descriptor entry keys of a global limit. The bucket entry is the limit's scope and the
// identity's hash (never the identity itself); the burst entry carries what the protocol has
// no field for (a standard service keys on it and counts a fixed window of the rate).
const (
	GlobalLimitEntry  = "portcullis_limit"
	GlobalBucketEntry = "portcullis_bucket"
	GlobalBurstEntry  = "burst"
	// GlobalPath is the service's HTTP/JSON endpoint.
	GlobalPath = "/json"
)

var units = map[string]string{"second": "SECOND", "minute": "MINUTE", "hour": "HOUR"}

// GlobalRequest is the RateLimitRequest JSON for the limits, one descriptor each.
func GlobalRequest(domain string, limits []GlobalLimit) []byte {
	b := make([]byte, 0, 64+len(limits)*200)
	b = append(b, `{"domain":`...)
	b = strconv.AppendQuote(b, domain)
	b = append(b, `,"descriptors":[`...)
	for i, l := range limits {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"entries":[{"key":"`+GlobalLimitEntry+`","value":`...)
		b = strconv.AppendQuote(b, l.Name)
		b = append(b, `},{"key":"`+GlobalBucketEntry+`","value":"`...)
		b = appendHex64(b, l.Scope)
		b = appendHex64(b, l.Value)
		b = append(b, `"},{"key":"`+GlobalBurstEntry+`","value":"`...)
		b = strconv.AppendInt(b, l.Burst, 10)
		b = append(b, `"}],"limit":{"requests_per_unit":`...)
		b = strconv.AppendInt(b, l.Rate, 10)
		b = append(b, `,"unit":"`+units[l.Per]+`"}}`...)
	}
	return append(b, `],"hits_addend":1}`...)
}

func appendHex64(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>uint(shift))&0xf])
	}
	return b
}

// GlobalAnswer reads the service's answer: ok is false for a failure (any status but 200 and
// 429, or an unreadable 429), over is true when a limit is exceeded, and retryAfter is then
// the longest durationUntilReset of the descriptors over the limit, in whole seconds (at
// least 1).
func GlobalAnswer(status int, body []byte) (over bool, retryAfter int64, ok bool) {
	switch status {
	case 200:
		return false, 0, true
	case 429:
	default:
		return false, 0, false
	}
	retryAfter = 1
	r := strictjson.NewReader(body)
	for k := range r.Object("") {
		if k != "statuses" {
			r.Skip()
			continue
		}
		for range r.Array("", k) {
			code, wait := "", int64(0)
			for f := range r.Object("s") {
				switch f {
				case "code":
					code = r.String("s", f)
				case "durationUntilReset", "duration_until_reset":
					wait = parseDurationSeconds(r.String("s", f))
				default:
					r.Skip()
				}
			}
			if code == "OVER_LIMIT" {
				retryAfter = max(retryAfter, wait)
			}
		}
	}
	if r.Finish() != nil {
		return true, 1, true // over the limit, whatever else the body says
	}
	return true, retryAfter, true
}

// parseDurationSeconds reads protobuf's JSON duration ("1.500s") rounded up to seconds.
func parseDurationSeconds(s string) int64 {
	s, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0
	}
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	if strings.Trim(frac, "0") != "" {
		n++
	}
	return n
}

// DenyGlobal is the 429 for a request the global service refused, with the route's response
// headers and Retry-After.
func DenyGlobal(d *Decision, retryAfter int64) Decision {
	return denyAfterAllow(d, CodeRateLimited, strconv.FormatInt(max(retryAfter, 1), 10))
}

// FailGlobal is the 503 for a request whose global limit could not be counted and whose
// failure mode is "deny".
func FailGlobal(d *Decision) Decision { return denyAfterAllow(d, CodeRateLimitUnavailable, "") }

// GlobalFailDeny reports whether a failure to reach the service refuses the request: any of
// its global limits in "deny" failure mode does.
func GlobalFailDeny(res *LimitResult) bool {
	for _, g := range res.Global {
		if g.FailDeny {
			return true
		}
	}
	return false
}

func denyAfterAllow(d *Decision, code Code, retryAfter string) Decision {
	out := Deny(code)
	out.Route, out.KeyID, out.Limits = d.Route, d.KeyID, d.Limits
	var edits []HeaderEdit
	if d.Limits != nil {
		edits = d.Limits.denyEdits
	}
	if retryAfter != "" {
		edits = append(edits[:len(edits):len(edits)], HeaderEdit{Mode: EditSet, Name: "retry-after", Value: retryAfter})
	}
	if len(edits) > 0 {
		out.Headers = ApplyResponseEdits(out.Headers, edits)
	}
	return out
}
