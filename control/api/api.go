// Package api is the control server's HTTP interface: the admin API under /v1 (keys, policy,
// tokens, audit, dry-run evaluation), the data-plane snapshot long poll, and the health,
// readiness and metrics endpoints. openapi.json in this package documents every route; a test
// keeps the two in step.
package api

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/jwks"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/publish"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Config is what the API needs.
type Config struct {
	Admin     *admin.Service
	Publisher *publish.Publisher
	// JWKS fetches providers' jwks_uri key sets; nil answers its endpoints with 503.
	JWKS      *jwks.Fetcher
	Clock     clock.Clock       // default clock.Real
	Logger    *slog.Logger      // default: discard
	Metrics   *metrics.Registry // default: a private registry
	RateLimit RateLimit
	// Stop is closed when the server begins to shut down: held long polls then answer 304 at
	// once, so the filter re-polls (another replica) instead of waiting for a timeout.
	Stop <-chan struct{}
}

// RateLimit is the token bucket of each caller: per token for authenticated requests, per
// client IP for requests without a valid token. Rates are per second.
type RateLimit struct {
	AdminRate      float64
	AdminBurst     int
	DataplaneRate  float64
	DataplaneBurst int
	AnonymousRate  float64
	AnonymousBurst int
}

// DefaultRateLimit suits an operator's scripts and a fleet of filters on one data-plane token
// (every worker VM of every Envoy polls on its own).
func DefaultRateLimit() RateLimit {
	return RateLimit{
		AdminRate: 20, AdminBurst: 100,
		DataplaneRate: 200, DataplaneBurst: 1000,
		AnonymousRate: 2, AnonymousBurst: 20,
	}
}

type server struct {
	cfg     Config
	m       apiMetrics
	limiter *limiter
}

// New returns the API's router.
func New(cfg Config) chi.Router {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry()
	}
	if cfg.RateLimit == (RateLimit{}) {
		cfg.RateLimit = DefaultRateLimit()
	}
	s := &server{cfg: cfg, m: newAPIMetrics(cfg.Metrics), limiter: newLimiter(cfg.Clock)}
	return s.routes()
}

func (s *server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.recoverer, securityHeaders, s.instrument)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such endpoint"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allow := allowed(r, req)
		s.fail(w, req, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			msg: "method not allowed on this endpoint; it allows " + allow, header: [][2]string{{"Allow", allow}}})
	})

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/metrics", s.metrics)
	r.Get("/v1/openapi.json", s.openapi)

	r.Group(func(r chi.Router) {
		r.Use(s.authenticate, s.rateLimit)
		r.With(s.require(dataplaneOnly)).Get("/v1/snapshot", s.pollSnapshot)
		r.With(s.require(anyToken)).Get("/v1/snapshot/public-key", s.publicKey)

		r.Group(func(r chi.Router) {
			r.Use(s.require(adminRead))
			r.Get("/v1/keys", s.listKeys)
			r.Get("/v1/keys/{id}", s.getKey)
			r.Get("/v1/policy", s.getPolicy)
			r.Get("/v1/webhooks", s.listWebhooks)
			r.Get("/v1/webhooks/{name}", s.getWebhook)
			r.Get("/v1/admin-tokens", s.listTokens(adminTokens))
			r.Get("/v1/dataplane-tokens", s.listTokens(dataplaneTokens))
			r.Get("/v1/audit", s.listAudit)
			r.Post("/v1/evaluate", s.evaluate)
			r.Get("/v1/revocations", s.listRevocations)
			r.Get("/v1/jwks", s.jwksStatus)
			r.Get("/v1/checks", s.listChecks)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.require(adminWrite))
			r.Post("/v1/keys", s.createKey)
			r.Post("/v1/keys:import", s.importKeys)
			r.Patch("/v1/keys/{id}", s.updateKey)
			r.Delete("/v1/keys/{id}", s.revokeKey)
			r.Put("/v1/policy", s.putPolicy)
			r.Post("/v1/webhooks", s.createWebhook)
			r.Patch("/v1/webhooks/{name}", s.updateWebhook)
			r.Delete("/v1/webhooks/{name}", s.deleteWebhook)
			r.Post("/v1/webhooks/{name}/rotate", s.rotateWebhook)
			r.Post("/v1/admin-tokens", s.createToken(adminTokens))
			r.Delete("/v1/admin-tokens/{id}", s.revokeToken(adminTokens))
			r.Post("/v1/dataplane-tokens", s.createToken(dataplaneTokens))
			r.Delete("/v1/dataplane-tokens/{id}", s.revokeToken(dataplaneTokens))
			r.Post("/v1/revocations", s.createRevocation)
			r.Delete("/v1/revocations/{jti}", s.deleteRevocation)
			r.Post("/v1/jwks/refresh", s.refreshJWKS)
		})
	})
	return r
}
