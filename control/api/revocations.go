package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/shared/strictjson"
)

type revocationList struct {
	Revocations []admin.RevocationView `json:"revocations"`
}

// createRevocation: POST /v1/revocations {"jti", "expires_at"}.
func (s *server) createRevocation(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var (
		rd       = strictjson.NewReader(body)
		jti      string
		expires  time.Time
		isObject = rd.Peek() == strictjson.Object
		sawJTI   bool
	)
	for k := range rd.Object("") {
		switch k {
		case "jti":
			sawJTI = true
			jti = rd.String("", k)
		case "expires_at":
			expires = rd.Time("", k)
		default:
			rd.Unknown("", k)
		}
	}
	if isObject && !sawJTI {
		rd.Errorf("jti", "required")
	}
	if err := rd.Finish(); err != nil {
		s.fail(w, r, err)
		return
	}
	who, _ := auth.FromContext(r.Context())
	rev, version, err := s.cfg.Admin.Revoke(r.Context(), who, jti, expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	writeJSON(w, http.StatusCreated, admin.ViewRevocation(rev))
}

// listRevocations: GET /v1/revocations, the unexpired ones in jti order.
func (s *server) listRevocations(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Admin.Revocations(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := revocationList{Revocations: []admin.RevocationView{}}
	for _, rev := range list {
		out.Revocations = append(out.Revocations, admin.ViewRevocation(rev))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteRevocation: DELETE /v1/revocations/{jti}.
func (s *server) deleteRevocation(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.FromContext(r.Context())
	version, err := s.cfg.Admin.Unrevoke(r.Context(), who, chi.URLParam(r, "jti"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.WriteHeader(http.StatusNoContent)
}
