package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Webhook verifiers are resources like keys: their secrets go in once (or are generated and
// shown once) and come back only as masked hints; routes in the policy bind them by name.

// maxTolerance mirrors the policy's bound; the policy check has the last word.
const maxTolerance = 24 * 3600

// shownOnce is the only response that carries a secret: one the server generated.
type shownOnce struct {
	admin.WebhookView
	Secret     string `json:"secret,omitempty"`
	NextSecret string `json:"next_secret,omitempty"`
}

type webhookList struct {
	Webhooks []admin.WebhookView `json:"webhooks"`
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := decodeNewWebhook(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	who, _ := auth.FromContext(r.Context())
	hook, generated, version, err := s.cfg.Admin.CreateWebhook(r.Context(), who, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.Header().Set("Location", "/v1/webhooks/"+hook.Name)
	writeJSON(w, http.StatusCreated, shownOnce{WebhookView: admin.ViewWebhook(hook), Secret: generated})
}

func decodeNewWebhook(body []byte) (admin.NewWebhook, error) {
	var (
		r        = strictjson.NewReader(body)
		in       admin.NewWebhook
		sawName  bool
		isObject = r.Peek() == strictjson.Object
	)
	for k := range r.Object("") {
		switch k {
		case "name":
			sawName = true
			in.Name = r.String("", k)
		case "preset":
			in.Preset = r.String("", k)
		case "secret":
			in.Secret = r.String("", k)
		case "next_secret":
			in.NextSecret = r.String("", k)
		case "tolerance_seconds":
			in.ToleranceSeconds = int(r.NonNegativeInt("", k, maxTolerance))
		case "url":
			in.URL = r.String("", k)
		case "replay_protection":
			in.ReplayProtection = r.Bool("", k)
		default:
			r.Unknown("", k)
		}
	}
	if isObject && !sawName {
		r.Errorf("name", "required")
	}
	return in, r.Finish()
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.cfg.Admin.Webhooks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := webhookList{Webhooks: make([]admin.WebhookView, len(hooks))}
	for i, h := range hooks {
		out.Webhooks[i] = admin.ViewWebhook(h)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.cfg.Admin.Webhook(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, admin.ViewWebhook(hook))
}

func (s *server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := decodeWebhookPatch(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	who, _ := auth.FromContext(r.Context())
	hook, version, err := s.cfg.Admin.UpdateWebhook(r.Context(), who, chi.URLParam(r, "name"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	writeJSON(w, http.StatusOK, admin.ViewWebhook(hook))
}

func decodeWebhookPatch(body []byte) (admin.WebhookPatch, error) {
	var (
		r = strictjson.NewReader(body)
		p admin.WebhookPatch
	)
	str := func(k string) *string {
		if r.IsNull() && k == "next_secret" {
			empty := ""
			return &empty
		}
		v := r.String("", k)
		return &v
	}
	for k := range r.Object("") {
		switch k {
		case "preset":
			p.Preset = str(k)
		case "secret":
			p.Secret = str(k)
		case "next_secret":
			p.NextSecret = str(k)
		case "tolerance_seconds":
			n := int(r.NonNegativeInt("", k, maxTolerance))
			p.ToleranceSeconds = &n
		case "url":
			p.URL = str(k)
		case "replay_protection":
			b := r.Bool("", k)
			p.ReplayProtection = &b
		case "name":
			r.Skip()
			r.Errorf("name", "cannot change: routes bind the verifier by name (create another and change the policy)")
		default:
			r.Unknown("", k)
		}
	}
	if !r.Failed() && !r.Stopped() && p.Empty() {
		r.Errorf("", "give at least one of preset, secret, next_secret, tolerance_seconds, url, replay_protection")
	}
	return p, r.Finish()
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.FromContext(r.Context())
	version, err := s.cfg.Admin.DeleteWebhook(r.Context(), who, chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	w.WriteHeader(http.StatusNoContent)
}

// rotateWebhook promotes next_secret to secret and stages the body's next_secret, or a
// generated one shown in this response only. The body is optional.
func (s *server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if len(bytes.TrimSpace(body)) > 0 {
		rd := strictjson.NewReader(body)
		for k := range rd.Object("") {
			switch k {
			case "next_secret":
				v := rd.String("", k)
				next = &v
			default:
				rd.Unknown("", k)
			}
		}
		if err := rd.Finish(); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	who, _ := auth.FromContext(r.Context())
	hook, generated, version, err := s.cfg.Admin.RotateWebhook(r.Context(), who, chi.URLParam(r, "name"), next)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, version)
	writeJSON(w, http.StatusOK, shownOnce{WebhookView: admin.ViewWebhook(hook), NextSecret: generated})
}

// webhookError maps the verifier errors to responses; errorFor calls it.
func webhookError(err error) *apiError {
	var inUse *admin.InUseError
	switch {
	case errors.As(err, &inUse):
		return &apiError{status: http.StatusConflict, code: "webhook_in_use", msg: inUse.Error()}
	case errors.Is(err, admin.ErrNoNextSecret):
		return &apiError{status: http.StatusConflict, code: "no_next_secret", msg: err.Error()}
	}
	return nil
}
