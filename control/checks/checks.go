// Package checks validates a policy document and then warns about what is valid but risky: a
// default of allow, an unauthenticated route in front of a protected one, generous limits,
// stale keys and secrets, permissive CORS, weak JWT settings. It is the one implementation
// behind both `portcullis policy check FILE` (a file, offline) and `GET /v1/checks` (the
// published snapshot with the keys' usage from the store).
//
// Every warning has a stable id (PC001…), a severity, the JSON path of what it is about and a
// message; Catalog lists them. Checks that need the control server's data (when a key was last
// used, when a verifier's secret last changed) take it in Inputs and stay silent without it.
package checks

import (
	"errors"
	"slices"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Severity orders warnings; --fail-on and Report.Worst compare by it.
type Severity string

// The severities, lowest first.
const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

var severityRank = map[Severity]int{Low: 1, Medium: 2, High: 3}

// ParseSeverity accepts "low", "medium" or "high".
func ParseSeverity(s string) (Severity, error) {
	if _, ok := severityRank[Severity(s)]; !ok {
		return "", errors.New(`severity must be "low", "medium" or "high"`)
	}
	return Severity(s), nil
}

// AtLeast reports whether s is as severe as min or more.
func (s Severity) AtLeast(min Severity) bool { return severityRank[s] >= severityRank[min] }

// Warning is one finding in a valid document.
type Warning struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Path is the JSON path of the field or element concerned ("" for the whole document).
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Problem is one validation error: the document would be refused.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Report is the outcome of a check. Warnings are computed only for a valid document.
type Report struct {
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
	Warnings []Warning `json:"warnings"`
}

// Failing reports whether some warning is at least min severe.
func (r Report) Failing(min Severity) bool {
	return slices.ContainsFunc(r.Warnings, func(w Warning) bool { return w.Severity.AtLeast(min) })
}

// KeyUsage is what the control server knows of a key beyond the document.
type KeyUsage struct {
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// Inputs are the facts the document does not hold.
type Inputs struct {
	// Now is the time the checks judge ages at (default time.Now).
	Now time.Time
	// Usage, by key id, enables the unused-key check (PC005); keys absent from it are not
	// judged.
	Usage map[string]KeyUsage
	// SecretChangedAt, by verifier name, is when its secrets last changed (the verifier's
	// updated_at); it enables the rotation-age check (PC009).
	SecretChangedAt map[string]time.Time
}

// File validates a policy document (JSON, as the filter reads it, keys allowed) with the
// filter's own one-pass validation and, when it is valid, warns.
func File(data []byte, in Inputs) Report {
	doc, err := policy.Parse(data)
	if err != nil {
		return Report{Problems: ProblemsOf(err), Warnings: []Warning{}}
	}
	return Report{Valid: true, Problems: []Problem{}, Warnings: Warn(doc, in)}
}

// ProblemsOf lists the problems of a policy.Parse error (a *strictjson.Errors, or any other
// error as one problem without a path).
func ProblemsOf(err error) []Problem {
	var list *strictjson.Errors
	if errors.As(err, &list) {
		out := make([]Problem, 0, len(list.List)+1)
		for _, fe := range list.List {
			out = append(out, Problem{Path: fe.Path, Message: fe.Msg})
		}
		if list.Dropped > 0 {
			out = append(out, Problem{Message: "and " + itoa(list.Dropped) + " more problems"})
		}
		return out
	}
	return []Problem{{Message: err.Error()}}
}

// Warn runs every check on a valid document (from policy.Parse or a decoded snapshot), in
// Catalog order.
func Warn(doc *policy.Document, in Inputs) []Warning {
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	c := &collector{out: []Warning{}}
	for _, rule := range rules {
		rule(c, doc, in)
	}
	slices.SortStableFunc(c.out, func(a, b Warning) int { return compareID(a.ID, b.ID) })
	return c.out
}

type collector struct{ out []Warning }

func (c *collector) add(id, path, msg string) {
	c.out = append(c.out, Warning{ID: id, Severity: severityOf(id), Path: path, Message: msg})
}

func compareID(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
