package checks

import (
	"strconv"
	"time"
)

// Check describes one warning id: the one table every consumer (the CLI's help, the README's
// table, the tests) reads.
type Check struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
}

// Bounds the checks judge against.
const (
	// UnusedAfter is how long a key may go without a request before PC005 flags it.
	UnusedAfter = 90 * 24 * time.Hour
	// RotationAge is how long a verifier's secret may stay unchanged with no successor staged
	// before PC009 flags it.
	RotationAge = 180 * 24 * time.Hour
	// MaxTokenLifetime is the longest JWT lifetime (max_lifetime_seconds) PC012 accepts.
	MaxTokenLifetime = 86_400
)

// saneLimits are the bounds PC003 compares limits with: each far above what ordinary APIs
// need, and below the policy's hard maxima.
var saneLimits = struct {
	headerCount, headerBytes, headerValueBytes int
	bodyBytes                                  int64
}{headerCount: 200, headerBytes: 128 << 10, headerValueBytes: 32 << 10, bodyBytes: 100 << 20}

// Catalog is every check, by id. Ids are stable: a retired check's id is never reused.
var Catalog = []Check{
	{"PC001", High, "default_action is allow: requests that match no route reach the upstream unchecked"},
	{"PC002", High, "a route with auth none is matched before a protected route for some or all of its requests"},
	{"PC003", Medium, "a request size limit is above a sane bound"},
	{"PC004", Low, "an API key never expires"},
	{"PC005", Medium, "an API key has not been used for " + strconv.Itoa(int(UnusedAfter.Hours()/24)) + " days"},
	{"PC006", Medium, `CORS allows every origin ("*")`},
	{"PC007", High, "CORS sends credentials to a wildcard origin pattern or to \"null\""},
	{"PC008", Medium, "a route sets security headers but no Strict-Transport-Security"},
	{"PC009", Low, "a webhook verifier's secret is older than " + strconv.Itoa(int(RotationAge.Hours()/24)) + " days and no next secret is staged"},
	{"PC010", High, "a JWT provider accepts an HS algorithm with a secret shorter than the hash"},
	{"PC011", Medium, "a JWT provider reads tokens from a query parameter"},
	{"PC012", Low, "a JWT provider accepts tokens that live longer than a day"},
	{"PC013", Medium, "rate-limit tiers are defined but keys without a tier get none (no \"default\" tier)"},
	{"PC014", Medium, "an IP allow list admits every address (0.0.0.0/0 or ::/0)"},
	{"PC015", Low, "a route can never match: earlier routes take all of its requests"},
}

func severityOf(id string) Severity {
	for _, c := range Catalog {
		if c.ID == id {
			return c.Severity
		}
	}
	panic("checks: no catalog entry for " + id) // a programming error, caught by every test
}

func itoa(n int) string { return strconv.Itoa(n) }
