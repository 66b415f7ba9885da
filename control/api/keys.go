package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// createdKey is the only response that contains a raw key.
type createdKey struct {
	admin.KeyView
	Key string `json:"key"`
}

type keyList struct {
	Keys       []admin.KeyView `json:"keys"`
	NextCursor *string         `json:"next_cursor"`
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := decodeNewKey(body)
	if err != nil {
		s.fail(w, r, admin.WithCheck(err, func() error { return s.cfg.Admin.CheckNewKey(r.Context(), in) }))
		return
	}
	who, _ := auth.FromContext(r.Context())
	k, raw, version, err := s.cfg.Admin.CreateKey(r.Context(), who, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.Header().Set("Location", "/v1/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, createdKey{KeyView: admin.ViewKey(k, s.cfg.Clock.Now()), Key: raw})
}

func decodeNewKey(body []byte) (admin.NewKey, error) {
	var in admin.NewKey
	err := decodeKeyObject(body, &in, nil)
	return in, err
}

// decodeKeyObject reads a new key's JSON object into in; extra, if set, reads the fields a
// caller adds to those of a new key (false for a field that is not one of them).
func decodeKeyObject(body []byte, in *admin.NewKey, extra func(r *strictjson.Reader, k string) bool) error {
	r := strictjson.NewReader(body)
	sawName := false
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		if k == "name" {
			sawName = true
		}
		if extra != nil && extra(r, k) {
			continue
		}
		if !readNewKeyField(r, k, in) {
			r.Unknown("", k)
		}
	}
	if isObject && !sawName {
		r.Errorf("name", "required")
	}
	return r.Finish()
}

// readNewKeyField reads the value of field k of a new key into in; false for a field a new key
// does not have.
func readNewKeyField(r *strictjson.Reader, k string, in *admin.NewKey) bool {
	switch k {
	case "name":
		in.Name = r.String("", k)
	case "active":
		b := r.Bool("", k)
		in.Active = &b
	case "allowed_paths":
		in.AllowedPaths = optStrings(r, k)
	case "permissions":
		in.Permissions = optStrings(r, k)
	case "admin":
		in.Admin = r.Bool("", k)
	case "staff":
		in.Staff = r.Bool("", k)
	case "tier":
		in.Tier = optString(r, k)
	case "expires_at":
		in.ExpiresAt = optTime(r, k)
	default:
		return false
	}
	return true
}

func (s *server) listKeys(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := pageParams(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keys, next, err := s.cfg.Admin.ListKeys(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.cfg.Clock.Now()
	out := keyList{Keys: make([]admin.KeyView, len(keys)), NextCursor: cursorString(next)}
	for i, k := range keys {
		out.Keys[i] = admin.ViewKey(k, now)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.cfg.Admin.Key(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, admin.ViewKey(k, s.cfg.Clock.Now()))
}

func (s *server) updateKey(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	patch, err := decodeKeyPatch(body)
	if err != nil {
		s.fail(w, r, admin.WithCheck(err, func() error { return s.cfg.Admin.CheckKeyPatch(r.Context(), patch) }))
		return
	}
	who, _ := auth.FromContext(r.Context())
	k, version, err := s.cfg.Admin.UpdateKey(r.Context(), who, chi.URLParam(r, "id"), patch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	writeJSON(w, http.StatusOK, admin.ViewKey(k, s.cfg.Clock.Now()))
}

func decodeKeyPatch(body []byte) (admin.KeyPatch, error) {
	var (
		r = strictjson.NewReader(body)
		p admin.KeyPatch
	)
	for k := range r.Object("") {
		switch k {
		case "name":
			name := r.String("", k)
			p.Name = &name
		case "active":
			b := r.Bool("", k)
			p.Active = &b
		case "allowed_paths":
			list := optStrings(r, k)
			p.AllowedPaths = &list
		case "permissions":
			list := optStrings(r, k)
			p.Permissions = &list
		case "admin":
			b := r.Bool("", k)
			p.Admin = &b
		case "staff":
			b := r.Bool("", k)
			p.Staff = &b
		case "tier":
			tier := optString(r, k)
			p.Tier = &tier
		case "expires_at":
			t := optTime(r, k)
			p.ExpiresAt = &t
		default:
			r.Unknown("", k)
		}
	}
	if !r.Failed() && !r.Stopped() && p.Empty() {
		r.Errorf("", "give at least one of name, active, allowed_paths, permissions, admin, staff, tier, expires_at")
	}
	return p, r.Finish()
}

func (s *server) revokeKey(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.FromContext(r.Context())
	k, version, err := s.cfg.Admin.RevokeKey(r.Context(), who, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	writeJSON(w, http.StatusOK, admin.ViewKey(k, s.cfg.Clock.Now()))
}
