package api

import (
	"net/http"

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
	p, version, err := s.cfg.Admin.ReplacePolicy(r.Context(), who, r.Header.Get("If-Match"), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.Header().Set("ETag", p.ETag)
	writeJSON(w, http.StatusOK, p.Document)
}
