package engine

import "strconv"

// Code is the machine-readable reason for a denial. It appears in the JSON body, the log line
// and the metric name, never anything request-specific.
type Code string

// The denial codes.
const (
	CodeInvalidPath           Code = "invalid_path"
	CodeTooManyHeaders        Code = "too_many_headers"
	CodeHeadersTooLarge       Code = "headers_too_large"
	CodeHeaderValueTooLarge   Code = "header_value_too_large"
	CodeInvalidContentLength  Code = "invalid_content_length"
	CodeBodyTooLarge          Code = "body_too_large"
	CodeNoRoute               Code = "no_route"
	CodeIPDenied              Code = "ip_denied"
	CodeCORSRejected          Code = "cors_rejected"
	CodeDuplicateCredentials  Code = "duplicate_credentials"
	CodeAmbiguousCredentials  Code = "ambiguous_credentials"
	CodeMissingCredentials    Code = "missing_credentials"
	CodeUnsupportedAuthScheme Code = "unsupported_auth_scheme"
	CodeInvalidCredentials    Code = "invalid_credentials"
	CodePathNotAllowed        Code = "path_not_allowed"
	CodeInsufficientScope     Code = "insufficient_scope"
	CodeSignatureMissing      Code = "signature_missing"
	CodeSignatureMalformed    Code = "signature_malformed"
	CodeSignatureMismatch     Code = "signature_mismatch"
	CodeTimestampOutOfWindow  Code = "timestamp_out_of_window"
	CodeReplayed              Code = "replayed"
	CodeReplayUnrecorded      Code = "replay_unrecorded"
	CodeMissingToken          Code = "missing_token"
	CodeInvalidToken          Code = "invalid_token"
	CodeInvalidAlgorithm      Code = "invalid_algorithm"
	CodeInvalidSignature      Code = "invalid_signature"
	CodeInvalidIssuer         Code = "invalid_issuer"
	CodeInvalidAudience       Code = "invalid_audience"
	CodeTokenExpired          Code = "token_expired"
	CodeTokenNotYetValid      Code = "token_not_yet_valid"
	CodeTokenRevoked          Code = "token_revoked"
	CodeInternalError         Code = "internal_error"
	CodePolicyUnavailable     Code = "policy_unavailable"
	// Rate and concurrency limits (ratelimit.go, concurrency.go, global.go).
	CodeRateLimited          Code = "rate_limited"
	CodeConcurrencyLimited   Code = "concurrency_limited"
	CodeRateLimitKeyTooLong  Code = "rate_limit_key_too_long"
	CodeRateLimitUnavailable Code = "rate_limit_unavailable"
)

const realm = `Bearer realm="portcullis"`

// invalidToken is the RFC 6750 challenge of every refused token.
var invalidToken = [][2]string{{"www-authenticate", realm + `, error="invalid_token"`}}

// denialTable is every denial: its code, status, message and extra headers, in one place.
// Messages never echo request data, so the bodies are built once and unknown, inactive and
// expired keys get byte-identical answers.
var denialTable = []struct {
	code    Code
	stage   Stage
	status  int
	message string
	extra   [][2]string
}{
	{CodeInvalidPath, StagePath, 400, "the request path is malformed or not normalized", nil},
	{CodeTooManyHeaders, StageLimits, 431, "the request has too many headers", nil},
	{CodeHeadersTooLarge, StageLimits, 431, "the request headers are too large", nil},
	{CodeHeaderValueTooLarge, StageLimits, 431, "a request header value is too large", nil},
	{CodeInvalidContentLength, StageLimits, 400, "the content-length header is invalid", nil},
	{CodeBodyTooLarge, StageLimits, 413, "the request body is too large", nil},
	{CodeNoRoute, StageRoute, 403, "no route allows this request", nil},
	{CodeIPDenied, StageClient, 403, "requests from this address are not allowed", nil},
	{CodeCORSRejected, StageCORS, 403, "this cross-origin request is not allowed", nil},
	{CodeDuplicateCredentials, StageAuth, 400, "a credential header is repeated", nil},
	{CodeAmbiguousCredentials, StageAuth, 400, "send exactly one credential (an API key in Authorization or X-API-Key, or a token)", nil},
	{CodeMissingCredentials, StageAuth, 401, "an API key is required", [][2]string{{"www-authenticate", realm}}},
	{CodeUnsupportedAuthScheme, StageAuth, 401, "the Authorization scheme must be Bearer", [][2]string{{"www-authenticate", realm}}},
	{CodeInvalidCredentials, StageAuth, 401, "the API key is not valid", [][2]string{{"www-authenticate", realm + `, error="invalid_token"`}}},
	{CodePathNotAllowed, StageGuard, 403, "this API key may not access this path", nil},
	{CodeInsufficientScope, StageGuard, 403, "the credential lacks a permission this route requires", [][2]string{{"www-authenticate", realm + `, error="insufficient_scope"`}}},
	{CodeSignatureMissing, StageSignature, 401, "the webhook signature is missing", nil},
	{CodeSignatureMalformed, StageSignature, 401, "the webhook signature is malformed", nil},
	{CodeSignatureMismatch, StageSignature, 401, "the webhook signature does not match", nil},
	{CodeTimestampOutOfWindow, StageSignature, 401, "the webhook timestamp is outside the accepted window", nil},
	{CodeReplayed, StageSignature, 401, "this webhook delivery was already accepted", nil},
	{CodeReplayUnrecorded, StageSignature, 503, "the webhook delivery could not be recorded against replays; retry later", [][2]string{{"retry-after", "1"}}},
	{CodeMissingToken, StageAuth, 401, "a bearer token is required", [][2]string{{"www-authenticate", realm}}},
	{CodeInvalidToken, StageAuth, 401, "the token is malformed or not acceptable", invalidToken},
	{CodeInvalidAlgorithm, StageAuth, 401, "the token's signing algorithm is not accepted", invalidToken},
	{CodeInvalidSignature, StageAuth, 401, "the token's signature could not be verified", invalidToken},
	{CodeInvalidIssuer, StageAuth, 401, "the token's issuer is not accepted", invalidToken},
	{CodeInvalidAudience, StageAuth, 401, "the token is not meant for this audience", invalidToken},
	{CodeTokenExpired, StageAuth, 401, "the token has expired", invalidToken},
	{CodeTokenNotYetValid, StageAuth, 401, "the token is not valid yet", invalidToken},
	{CodeTokenRevoked, StageAuth, 401, "the token has been revoked", invalidToken},
	{CodeInternalError, StageFilter, 500, "the request could not be checked", nil},
	{CodePolicyUnavailable, StageFilter, 503, "no policy has been loaded yet", [][2]string{{"retry-after", "1"}}},
	// Retry-After and the RateLimit headers of a 429 depend on the bucket: the check adds them.
	{CodeRateLimited, StageRateLimit, 429, "rate limit exceeded", nil},
	{CodeConcurrencyLimited, StageRateLimit, 429, "too many requests in flight", [][2]string{{"retry-after", "1"}}},
	{CodeRateLimitKeyTooLong, StageRateLimit, 400, "the value a rate limit is keyed by is longer than 256 bytes", nil},
	{CodeRateLimitUnavailable, StageRateLimit, 503, "the rate limit could not be checked", [][2]string{{"retry-after", "1"}}},
}

// Codes lists every denial code, so callers can define one metric per code up front.
var Codes = func() []Code {
	out := make([]Code, len(denialTable))
	for i, d := range denialTable {
		out[i] = d.code
	}
	return out
}()

var denials = func() map[Code]Decision {
	out := make(map[Code]Decision, len(denialTable))
	for _, s := range denialTable {
		body := `{"error":` + strconv.Quote(s.message) + `,"code":"` + string(s.code) + `"}`
		headers := append([][2]string{
			{"content-type", "application/json"},
			{"cache-control", "no-store"},
		}, s.extra...)
		out[s.code] = Decision{Status: s.status, Code: string(s.code), Body: []byte(body), Headers: headers, Stage: s.stage}
	}
	return out
}()

// Deny returns the denial for code. Callers must not modify its Body or Headers, which are shared.
func Deny(code Code) Decision {
	d, ok := denials[code]
	if !ok {
		return denials[CodeInternalError]
	}
	return d
}
