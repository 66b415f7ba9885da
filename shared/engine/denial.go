package engine

import "strconv"

// Code is the machine-readable reason for a denial. It appears in the JSON body, the log line
// and the metric name, never anything request-specific.
type Code string

// The denial codes, in pipeline order.
const (
	CodeInvalidPath           Code = "invalid_path"
	CodeTooManyHeaders        Code = "too_many_headers"
	CodeHeadersTooLarge       Code = "headers_too_large"
	CodeHeaderValueTooLarge   Code = "header_value_too_large"
	CodeInvalidContentLength  Code = "invalid_content_length"
	CodeBodyTooLarge          Code = "body_too_large"
	CodeNoRoute               Code = "no_route"
	CodeDuplicateCredentials  Code = "duplicate_credentials"
	CodeAmbiguousCredentials  Code = "ambiguous_credentials"
	CodeMissingCredentials    Code = "missing_credentials"
	CodeUnsupportedAuthScheme Code = "unsupported_auth_scheme"
	CodeInvalidCredentials    Code = "invalid_credentials"
	CodePathNotAllowed        Code = "path_not_allowed"
	CodeInternalError         Code = "internal_error"
	CodePolicyUnavailable     Code = "policy_unavailable"
)

// Codes lists every denial code, so callers can define one metric per code up front.
var Codes = []Code{
	CodeInvalidPath, CodeTooManyHeaders, CodeHeadersTooLarge, CodeHeaderValueTooLarge,
	CodeInvalidContentLength, CodeBodyTooLarge, CodeNoRoute, CodeDuplicateCredentials,
	CodeAmbiguousCredentials, CodeMissingCredentials, CodeUnsupportedAuthScheme,
	CodeInvalidCredentials, CodePathNotAllowed, CodeInternalError, CodePolicyUnavailable,
}

const realm = `Bearer realm="portcullis"`

// denialSpec is the fixed response for a code. Messages never echo request data, so the bodies
// are built once and unknown, inactive and expired keys get byte-identical answers.
var denialSpecs = map[Code]struct {
	status  int
	message string
	extra   [][2]string
}{
	CodeInvalidPath:           {400, "the request path is malformed or not normalized", nil},
	CodeTooManyHeaders:        {431, "the request has too many headers", nil},
	CodeHeadersTooLarge:       {431, "the request headers are too large", nil},
	CodeHeaderValueTooLarge:   {431, "a request header value is too large", nil},
	CodeInvalidContentLength:  {400, "the content-length header is invalid", nil},
	CodeBodyTooLarge:          {413, "the request body is too large", nil},
	CodeNoRoute:               {403, "no route allows this request", nil},
	CodeDuplicateCredentials:  {400, "a credential header is repeated", nil},
	CodeAmbiguousCredentials:  {400, "send the API key in Authorization or X-API-Key, not both", nil},
	CodeMissingCredentials:    {401, "an API key is required", [][2]string{{"www-authenticate", realm}}},
	CodeUnsupportedAuthScheme: {401, "the Authorization scheme must be Bearer", [][2]string{{"www-authenticate", realm}}},
	CodeInvalidCredentials:    {401, "the API key is not valid", [][2]string{{"www-authenticate", realm + `, error="invalid_token"`}}},
	CodePathNotAllowed:        {403, "this API key may not access this path", nil},
	CodeInternalError:         {500, "the request could not be checked", nil},
	CodePolicyUnavailable:     {503, "no policy has been loaded yet", [][2]string{{"retry-after", "1"}}},
}

var denials = buildDenials()

func buildDenials() map[Code]Decision {
	out := make(map[Code]Decision, len(denialSpecs))
	for code, s := range denialSpecs {
		body := `{"error":` + strconv.Quote(s.message) + `,"code":"` + string(code) + `"}`
		headers := append([][2]string{
			{"content-type", "application/json"},
			{"cache-control", "no-store"},
		}, s.extra...)
		out[code] = Decision{Status: s.status, Code: string(code), Body: []byte(body), Headers: headers}
	}
	return out
}

// Deny returns the denial for code. Callers must not modify its Body or Headers, which are shared.
func Deny(code Code) Decision {
	d, ok := denials[code]
	if !ok {
		return denials[CodeInternalError]
	}
	return d
}

func (e *Engine) deny(code Code, check string, rt *route) Decision {
	d := Deny(code)
	d.Check = check
	if rt != nil {
		d.Route = rt.name
	}
	return d
}
