package api

import (
	"net/http"

	"github.com/portcullis/portcullis/control/checks"
)

// checkReport is GET /v1/checks: the policy checks on the published snapshot — the document
// every filter enforces, keys and verifiers included — with the keys' usage from the store.
type checkReport struct {
	SnapshotVersion uint64           `json:"snapshot_version"`
	Valid           bool             `json:"valid"`
	Problems        []checks.Problem `json:"problems"`
	Warnings        []checks.Warning `json:"warnings"`
}

func (s *server) listChecks(w http.ResponseWriter, r *http.Request) {
	cur := s.cfg.Publisher.Current()
	if cur == nil {
		s.fail(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", msg: "no snapshot has been built yet"})
		return
	}
	in, err := s.cfg.Admin.CheckInputs(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A published snapshot was validated before it was signed, so only warnings remain.
	writeJSON(w, http.StatusOK, checkReport{SnapshotVersion: cur.Version, Valid: true, Problems: []checks.Problem{},
		Warnings: checks.Warn(cur.Policy, in)})
}
