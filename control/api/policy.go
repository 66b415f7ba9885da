package api

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/control/auth"
)

// The policy is edited as a whole document with optimistic concurrency (GET, edit, PUT with
// If-Match), not route by route: routes are ordered (first match wins) and validated together
// (unique names), a whole document is what operators keep in version control, and one
// If-Match check makes concurrent edits fail loudly (412) instead of merging silently.

func (s *server) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Admin.Policy(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", p.ETag)
	writeJSON(w, http.StatusOK, p.Document)
}

func (s *server) putPolicy(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	who, _ := auth.FromContext(r.Context())
	// Several If-Match lines are one list (RFC 9110 5.3).
	ifMatch := strings.Join(r.Header.Values("If-Match"), ", ")
	p, version, err := s.cfg.Admin.ReplacePolicy(r.Context(), who, ifMatch, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.Header().Set("ETag", p.ETag)
	writeJSON(w, http.StatusOK, p.Document)
}
