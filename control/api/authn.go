package api

import (
	"errors"
	"net/http"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
)

// authenticate resolves the bearer token, if any, into the request's principal. It does not
// refuse anything itself: the rate limiter runs next (so failed attempts count against the
// client's address), then require.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("Authorization")
		if len(values) != 1 {
			next.ServeHTTP(w, r)
			return
		}
		raw, ok := auth.BearerToken(values[0])
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.cfg.Admin.Authenticate(r.Context(), raw)
		switch {
		case errors.Is(err, admin.ErrUnauthenticated):
			next.ServeHTTP(w, r)
		case err != nil:
			s.fail(w, r, err)
		default:
			noteCaller(r.Context(), p.TokenID)
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		}
	})
}

// access is who may call a group of endpoints.
type access int

const (
	dataplaneOnly access = iota // GET /v1/snapshot
	anyToken                    // the public key
	adminRead                   // admin tokens of either role
	adminWrite                  // admin tokens with the admin role
)

func (s *server) require(a access) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			if !ok {
				s.m.authFailed.Inc()
				s.fail(w, r, admin.ErrUnauthenticated)
				return
			}
			msg := ""
			switch {
			case a == dataplaneOnly && p.Kind != store.KindDataplane:
				msg = "only data-plane tokens may poll snapshots"
			case (a == adminRead || a == adminWrite) && p.Kind != store.KindAdmin:
				msg = "data-plane tokens may only poll snapshots"
			case a == adminWrite && !p.CanWrite():
				msg = "this token is read-only"
			}
			if msg != "" {
				s.fail(w, r, &apiError{status: http.StatusForbidden, code: "forbidden", msg: msg})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
