package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// tokenKind is the kind of token a route manages.
type tokenKind = store.TokenKind

const (
	adminTokens     = store.KindAdmin
	dataplaneTokens = store.KindDataplane
)

// createdToken is the only response that contains a raw token.
type createdToken struct {
	admin.TokenView
	Token string `json:"token"`
}

type tokenList struct {
	Tokens     []admin.TokenView `json:"tokens"`
	NextCursor *string           `json:"next_cursor"`
}

func (s *server) createToken(kind tokenKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		in, err := decodeNewToken(body, kind)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		who, _ := auth.FromContext(r.Context())
		t, raw, err := s.cfg.Admin.CreateToken(r.Context(), who, kind, in)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Location", r.URL.Path+"/"+t.ID)
		writeJSON(w, http.StatusCreated, createdToken{TokenView: admin.ViewToken(t), Token: raw})
	}
}

func decodeNewToken(body []byte, kind tokenKind) (admin.NewToken, error) {
	var (
		r                = strictjson.NewReader(body)
		in               admin.NewToken
		sawName, sawRole bool
	)
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		switch {
		case k == "name":
			sawName = true
			in.Name = r.String("", k)
		case k == "role" && kind == adminTokens:
			sawRole = true
			in.Role = store.Role(r.String("", k))
		default:
			r.Unknown("", k)
		}
	}
	if isObject {
		if !sawName {
			r.Errorf("name", "required")
		}
		if kind == adminTokens && !sawRole {
			r.Errorf("role", `required: "admin" or "read-only"`)
		}
	}
	return in, r.Finish()
}

func (s *server) listTokens(kind tokenKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cursor, limit, err := pageParams(r.URL.Query())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		tokens, next, err := s.cfg.Admin.ListTokens(r.Context(), kind, cursor, limit)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := tokenList{Tokens: make([]admin.TokenView, len(tokens)), NextCursor: cursorString(next)}
		for i, t := range tokens {
			out.Tokens[i] = admin.ViewToken(t)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) revokeToken(kind tokenKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, _ := auth.FromContext(r.Context())
		t, err := s.cfg.Admin.RevokeToken(r.Context(), who, kind, chi.URLParam(r, "id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, admin.ViewToken(t))
	}
}
