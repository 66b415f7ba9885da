package policy

import "time"

// Version is the only policy document version this package understands.
const Version = 1

// Defaults for Limits fields that a route leaves out.
const (
	DefaultMaxHeaderCount      = 100
	DefaultMaxHeaderBytes      = 60 * 1024
	DefaultMaxHeaderValueBytes = 8 * 1024
	DefaultMaxBodyBytes        = 10 * 1024 * 1024
)

// Action is what happens to a request no route matches.
type Action string

// The default actions.
const (
	ActionDeny  Action = "deny"
	ActionAllow Action = "allow"
)

// AuthType selects how a route authenticates requests.
type AuthType string

// The authentication types. Webhook signatures extend this list.
const (
	AuthAPIKey  AuthType = "api_key"
	AuthNone    AuthType = "none"
	AuthWebhook AuthType = "webhook" // a webhook signature only
	// AuthJWT accepts a JWT from the route's provider; AuthAPIKeyOrJWT accepts either an API
	// key or such a token (exactly one of them).
	AuthJWT         AuthType = "jwt"
	AuthAPIKeyOrJWT AuthType = "api_key_or_jwt"
)

// Document is a complete, validated policy.
type Document struct {
	Version int `json:"version"`
	// DefaultAction applies to requests that match no route. Deny unless set to allow.
	DefaultAction Action `json:"default_action"`
	// DefaultLimits apply to requests that match no route (when DefaultAction is allow, and to
	// decide 431/413 before the default deny).
	DefaultLimits Limits `json:"default_limits"`
	// TrustedProxyHops is how many proxies in front of Envoy append to x-forwarded-for. Zero
	// (the default) means the client address is the connection's source address.
	TrustedProxyHops int `json:"trusted_proxy_hops,omitempty"`
	// IPAllow and IPDeny apply to every request that matches a route (see Route.IPAllow).
	IPAllow []string `json:"ip_allow,omitempty"`
	IPDeny  []string `json:"ip_deny,omitempty"`
	// RateLimitIPv6Prefix is the prefix length IPv6 clients are rate-limited by ("by": "ip"):
	// 0 means DefaultIPv6Prefix (64), so a client cannot escape a limit by rotating addresses inside its /64.
	RateLimitIPv6Prefix int `json:"rate_limit_ipv6_prefix,omitempty"`
	// Routes are tried in order; the first match wins.
	Routes []Route `json:"routes,omitempty"`
	Keys   []Key   `json:"keys,omitempty"`
	// Webhooks are the signature verifiers routes bind by name.
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// RateLimitTiers are named sets of per-identity rate limits that keys pick with Key.Tier
	// (ratelimit.go); a tier named "default" applies to keys that name none.
	RateLimitTiers []RateLimitTier `json:"rate_limit_tiers,omitempty"`
	// JWTProviders are the token issuers routes of auth type jwt / api_key_or_jwt name.
	JWTProviders []JWTProvider `json:"jwt_providers,omitempty"`
	// RevokedTokens are token ids (jti) refused until they expire.
	RevokedTokens []Revocation `json:"revoked_tokens,omitempty"`
}

// Route is one protected part of the upstream's URL space.
type Route struct {
	// Name identifies the route in logs, metrics and the upstream's x-portcullis-route header.
	Name  string `json:"name"`
	Match Match  `json:"match"`
	Auth  Auth   `json:"auth"`
	// HideCredentials removes the credential header before the request reaches the upstream.
	HideCredentials bool   `json:"hide_credentials,omitempty"`
	Limits          Limits `json:"limits"`
	// Permissions, Admin and Staff are guards on the authenticated identity (403 when unmet).
	Permissions *PermissionGuard `json:"permissions,omitempty"`
	Admin       bool             `json:"admin,omitempty"`
	Staff       bool             `json:"staff,omitempty"`
	// IPAllow and IPDeny are CIDRs (or single addresses) checked against the client address:
	// with an allow list, only listed clients pass; a deny-listed client never passes.
	IPAllow []string `json:"ip_allow,omitempty"`
	IPDeny  []string `json:"ip_deny,omitempty"`
	// CORS answers preflights and adds CORS response headers; nil means no CORS handling.
	CORS *CORS `json:"cors,omitempty"`
	// SecurityHeaders adds security headers to responses; nil means none.
	SecurityHeaders *SecurityHeaders `json:"security_headers,omitempty"`
	// RateLimits are token buckets every request of the route draws from, all or nothing;
	// MaxConcurrent bounds requests in flight (ratelimit.go).
	RateLimits    []RateLimit        `json:"rate_limits,omitempty"`
	MaxConcurrent []ConcurrencyLimit `json:"max_concurrent,omitempty"`
}

// PermissionGuard requires permissions of the identity: every one of All, and at least one of
// Any when Any is not empty.
type PermissionGuard struct {
	All []string `json:"all,omitempty"`
	Any []string `json:"any,omitempty"`
	// RevealMissing names the missing permissions in the 403 body (off by default: the list
	// tells a caller what the route needs).
	RevealMissing bool `json:"reveal_missing,omitempty"`
}

// CORS is a route's cross-origin policy (the Fetch standard's CORS protocol).
type CORS struct {
	// AllowedOrigins are serialized origins ("https://app.example.com", "http://localhost:3000"),
	// patterns with one leading wildcard label ("https://*.example.com"), "null", or "*".
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedMethods default to GET, HEAD and POST.
	AllowedMethods []string `json:"allowed_methods,omitempty"`
	// AllowedHeaders are request header names (lower-cased), or "*" without credentials.
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	ExposedHeaders []string `json:"exposed_headers,omitempty"`
	// AllowCredentials lets browsers send cookies and read the response of credentialed calls.
	AllowCredentials bool `json:"allow_credentials,omitempty"`
	// MaxAgeSeconds is how long a browser may cache a preflight; 0 leaves it to the browser.
	MaxAgeSeconds int `json:"max_age_seconds,omitempty"`
	// AllowPrivateNetwork answers Private Network Access preflights.
	AllowPrivateNetwork bool `json:"allow_private_network,omitempty"`
}

// SecurityHeaders are response headers that harden browsers' handling of the upstream's
// responses. An empty string (or a nil HSTS) leaves that header alone.
type SecurityHeaders struct {
	// Mode is "add" (the default: only when the upstream did not set the header) or
	// "override" (always replace the upstream's value).
	Mode                  string `json:"mode"`
	HSTS                  *HSTS  `json:"hsts"`
	ContentTypeOptions    string `json:"content_type_options"`
	FrameOptions          string `json:"frame_options"`
	ReferrerPolicy        string `json:"referrer_policy"`
	ContentSecurityPolicy string `json:"content_security_policy,omitempty"`
	PermissionsPolicy     string `json:"permissions_policy,omitempty"`
	// Remove lists upstream response headers to drop, such as server and x-powered-by.
	Remove []string `json:"remove,omitempty"`
}

// HSTS is the Strict-Transport-Security header.
type HSTS struct {
	MaxAgeSeconds     int64 `json:"max_age_seconds"`
	IncludeSubdomains bool  `json:"include_subdomains"`
	Preload           bool  `json:"preload,omitempty"`
}

// Security header modes.
const (
	SecurityModeAdd      = "add"
	SecurityModeOverride = "override"
)

// Match selects requests. Every non-empty condition must hold.
type Match struct {
	// Hosts are exact host names or "*.suffix" wildcards (any depth, like Envoy's domains), or
	// "*" for any host; empty means any host. Compared without the port, case-insensitively.
	Hosts []string `json:"hosts,omitempty"`
	// PathPrefix matches whole path segments: "/api" matches "/api" and "/api/x", not
	// "/apix"; a prefix ending in "/" matches anything below it. A request whose percent-decoded
	// path selects another route than its raw path ("/v1/files%3aupload" and a prefix
	// "/v1/files:upload") is refused. Query and fragment are ignored.
	PathPrefix string `json:"path_prefix"`
	// Methods are upper-case HTTP methods; empty means any method.
	Methods []string `json:"methods,omitempty"`
}

// Auth says how a route authenticates.
type Auth struct {
	Type AuthType `json:"type"`
	// Webhook names a verifier whose signature the request body must carry: required with type
	// "webhook", and allowed beside "api_key" (both must pass).
	Webhook string `json:"webhook,omitempty"`
	// Provider names the JWT provider (auth types jwt and api_key_or_jwt only).
	Provider string `json:"provider,omitempty"`
}

// Limits bound the size of a request. Parse fills in defaults for the fields left out.
type Limits struct {
	// MaxHeaderCount counts every header field (repeated names count each time), not
	// pseudo-headers.
	MaxHeaderCount int `json:"max_header_count"`
	// MaxHeaderBytes is the sum of name and value lengths of those headers.
	MaxHeaderBytes int `json:"max_header_bytes"`
	// MaxHeaderValueBytes bounds the longest single header value.
	MaxHeaderValueBytes int `json:"max_header_value_bytes"`
	// MaxBodyBytes bounds the declared content-length and the streamed body.
	MaxBodyBytes int64 `json:"max_body_bytes"`
}

// Key is an API key as the filter knows it: its SHA-256 hash, never the key itself.
type Key struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// SHA256 is the lower-case hex SHA-256 of the raw key.
	SHA256 string `json:"sha256"`
	// Active is true unless the document says otherwise.
	Active bool `json:"active"`
	// AllowedPaths are path prefixes (segment-wise, as Match.PathPrefix) the key may reach;
	// empty means every path its routes allow.
	AllowedPaths []string `json:"allowed_paths,omitempty"`
	Permissions  []string `json:"permissions,omitempty"`
	// Admin and Staff are flags the route guards admin and staff read.
	Admin bool `json:"admin,omitempty"`
	Staff bool `json:"staff,omitempty"`
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Tier names the rate_limit_tiers entry whose limits apply to the key on every route.
	Tier string `json:"tier,omitempty"`
}

// DefaultLimitsValue returns the documented defaults.
func DefaultLimitsValue() Limits {
	return Limits{
		MaxHeaderCount:      DefaultMaxHeaderCount,
		MaxHeaderBytes:      DefaultMaxHeaderBytes,
		MaxHeaderValueBytes: DefaultMaxHeaderValueBytes,
		MaxBodyBytes:        DefaultMaxBodyBytes,
	}
}
