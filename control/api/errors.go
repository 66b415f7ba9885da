package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// errorBody is every error response: {"error": "...", "code": "...", "details": [...]}.
type errorBody struct {
	Error   string   `json:"error"`
	Code    string   `json:"code"`
	Details []detail `json:"details,omitempty"`
}

// detail names one field and what is wrong with it; Field is a JSON path such as
// "routes[2].match.path_prefix" (empty for the body as a whole).
type detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is an error with its response already decided.
type apiError struct {
	status  int
	code    string
	msg     string
	details []detail
	header  [][2]string
}

func (e *apiError) Error() string { return e.msg }

func badParam(name, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{status: http.StatusBadRequest, code: "invalid_parameter", msg: "invalid query parameter " + name,
		details: []detail{{Field: name, Message: msg}}}
}

const realm = `Bearer realm="portcullis-control"`

// errorFor is the one place that maps errors to HTTP statuses.
func errorFor(err error) *apiError {
	var (
		ae  *apiError
		mbe *http.MaxBytesError
		se  *strictjson.SyntaxError
		fe  *strictjson.Errors
		tiu *admin.TierInUseError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case webhookError(err) != nil:
		return webhookError(err)
	case errors.As(err, &mbe):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			msg: fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit)}
	case errors.As(err, &se):
		return &apiError{status: http.StatusBadRequest, code: "malformed_json", msg: "the request body is not valid JSON",
			details: []detail{{Message: se.Error()}}}
	case errors.Is(err, policy.ErrEmpty):
		return &apiError{status: http.StatusBadRequest, code: "empty_body", msg: "a JSON request body is required"}
	case errors.As(err, &fe):
		e := &apiError{status: http.StatusUnprocessableEntity, code: "invalid_request", msg: "the request has invalid fields"}
		for _, f := range fe.List {
			e.details = append(e.details, detail{Field: f.Path, Message: f.Msg})
		}
		if fe.Dropped > 0 {
			e.details = append(e.details, detail{Message: fmt.Sprintf("and %d more problems", fe.Dropped)})
		}
		return e
	case errors.Is(err, admin.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "a valid bearer token is required",
			header: [][2]string{{"WWW-Authenticate", realm}}}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such object"}
	case errors.Is(err, store.ErrConflict):
		return &apiError{status: http.StatusConflict, code: "conflict", msg: "an object with this id or secret already exists"}
	case errors.As(err, &tiu):
		e := &apiError{status: http.StatusConflict, code: "tier_in_use", msg: tiu.Error()}
		for _, u := range tiu.Tiers {
			list := strings.Join(u.KeyIDs, ", ")
			if more := u.Total - len(u.KeyIDs); more > 0 {
				list += fmt.Sprintf(" and %d more", more)
			}
			e.details = append(e.details, detail{Field: "rate_limit_tiers",
				Message: fmt.Sprintf("tier %q is still named by %d keys: %s", u.Tier, u.Total, list)})
		}
		return e
	case errors.Is(err, admin.ErrRevoked):
		return &apiError{status: http.StatusConflict, code: "key_revoked", msg: err.Error()}
	case errors.Is(err, admin.ErrTooManyKeys):
		return &apiError{status: http.StatusConflict, code: "too_many_keys", msg: err.Error()}
	case errors.Is(err, admin.ErrTooManyRevocations):
		return &apiError{status: http.StatusConflict, code: "too_many_revocations", msg: err.Error()}
	case errors.Is(err, admin.ErrLastAdmin):
		return &apiError{status: http.StatusConflict, code: "last_admin_token", msg: err.Error()}
	case errors.Is(err, admin.ErrPreconditionRequired):
		return &apiError{status: http.StatusPreconditionRequired, code: "precondition_required", msg: err.Error()}
	case errors.Is(err, admin.ErrBadIfMatch):
		return &apiError{status: http.StatusBadRequest, code: "invalid_header", msg: err.Error(),
			details: []detail{{Field: "If-Match", Message: "not * or a list of quoted entity tags"}}}
	case errors.Is(err, admin.ErrPreconditionFailed):
		return &apiError{status: http.StatusPreconditionFailed, code: "precondition_failed", msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: "canceled", msg: "the request was canceled"}
	}
	return &apiError{status: http.StatusInternalServerError, code: "internal_error", msg: "internal error"}
}

// fail writes the error response for err, logging the errors that are the server's fault.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	if e.status >= 500 && e.code != "canceled" {
		s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	for _, h := range e.header {
		w.Header().Set(h[0], h[1])
	}
	writeJSON(w, e.status, errorBody{Error: e.msg, Code: e.code, Details: e.details})
}
