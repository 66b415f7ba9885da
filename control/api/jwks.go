package api

import (
	"net/http"
	"sort"

	"github.com/portcullis/portcullis/control/jwks"
)

type jwksStatuses struct {
	KeySets []jwks.Status `json:"key_sets"`
}

var errNoFetcher = &apiError{status: http.StatusServiceUnavailable, code: "jwks_unavailable", msg: "this server does not fetch key sets"}

// refreshJWKS: POST /v1/jwks/refresh fetches every provider's jwks_uri now. A changed set is
// published as a new snapshot version; a failed fetch keeps the last good set.
func (s *server) refreshJWKS(w http.ResponseWriter, r *http.Request) {
	if s.cfg.JWKS == nil {
		s.fail(w, r, errNoFetcher)
		return
	}
	list, err := s.cfg.JWKS.RefreshAll(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jwksStatuses{KeySets: sortStatuses(list)})
}

// jwksStatus: GET /v1/jwks, the last fetch of each jwks_uri.
func (s *server) jwksStatus(w http.ResponseWriter, r *http.Request) {
	if s.cfg.JWKS == nil {
		s.fail(w, r, errNoFetcher)
		return
	}
	writeJSON(w, http.StatusOK, jwksStatuses{KeySets: sortStatuses(s.cfg.JWKS.Statuses())})
}

func sortStatuses(list []jwks.Status) []jwks.Status {
	if list == nil {
		list = []jwks.Status{}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].URI < list[j].URI })
	return list
}
