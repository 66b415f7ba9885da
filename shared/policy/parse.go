package policy

import (
	"errors"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Bounds on a document's size, so a hostile or broken document cannot exhaust the filter's VM.
const (
	MaxRoutes = 10_000
	MaxKeys   = 1_000_000
)

// ErrEmpty is returned for an empty document: there is no safe meaning to give it.
var ErrEmpty = errors.New("policy document is empty")

// Options change what a document may hold.
type Options struct {
	// RefuseKeys, when set, makes a "keys" field an error with this message, even an empty
	// list: for documents whose keys are managed elsewhere (the control server's policy API).
	RefuseKeys string
}

// Parse decodes and validates a policy document. The error, if any, is *strictjson.Errors (or a
// *strictjson.SyntaxError for malformed JSON) listing every problem with its JSON path.
func Parse(data []byte) (*Document, error) { return ParseWith(data, Options{}) }

// ParseWith is Parse with options.
func ParseWith(data []byte, o Options) (*Document, error) {
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	r := strictjson.NewReader(data)
	doc := read(r, "", o)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return doc, nil
}

// Read decodes a policy document that is part of a larger JSON document (the filter's plugin
// configuration, a snapshot) from r, with path prefixing every error, and validates it. Errors
// stay in r; the result is meaningful only when r.Finish reports none.
//
// # Notes
//
// Validation runs even when decoding found problems, so one pass reports every problem: a bad
// route name alongside a mistyped field elsewhere. It reports only what no decoding error
// already covers (strictjson.Decoder.Check), so a value that failed to decode is not reported
// again as its consequences. Only a syntax error, which leaves the document unread, skips it.
func Read(r *strictjson.Reader, path string) *Document { return read(r, path, Options{}) }

func read(r *strictjson.Reader, path string, o Options) *Document {
	doc := readDocument(r, path, o)
	if !r.Stopped() {
		r.Check(func(d *strictjson.Decoder) { validateDocument(d, doc, path) })
	}
	return doc
}

func readDocument(r *strictjson.Reader, path string, o Options) *Document {
	doc := &Document{DefaultAction: ActionDeny, DefaultLimits: DefaultLimitsValue()}
	isObject := r.Peek() == strictjson.Object
	sawVersion := false
	for k := range r.Object(path) {
		switch k {
		case "version":
			sawVersion = true
			if n, ok := r.Int(path, k); ok && n != Version {
				r.FieldErrorf(path, k, "must be %d (this filter understands policy version %d)", Version, Version)
			}
			doc.Version = Version
		case "default_action":
			isString := r.Peek() == strictjson.String
			switch a := Action(r.String(path, k)); a {
			case ActionDeny, ActionAllow:
				doc.DefaultAction = a
			default:
				if isString {
					r.FieldErrorf(path, k, `must be "deny" or "allow"`)
				}
			}
		case "default_limits":
			readLimits(r, strictjson.Join(path, k), &doc.DefaultLimits)
		case "trusted_proxy_hops":
			doc.TrustedProxyHops = int(r.NonNegativeInt(path, k, maxTrustedHops))
		case "ip_allow":
			doc.IPAllow = r.Strings(path, k)
		case "ip_deny":
			doc.IPDeny = r.Strings(path, k)
		case "routes":
			readList(r, path, k, MaxRoutes, "routes", &doc.Routes, readRoute)
		case "keys":
			if o.RefuseKeys != "" {
				r.FieldErrorf(path, k, "%s", o.RefuseKeys)
				r.Skip()
				continue
			}
			readList(r, path, k, MaxKeys, "keys", &doc.Keys, readKey)
		case "webhooks":
			readList(r, path, k, MaxWebhooks, "webhooks", &doc.Webhooks, readWebhook)
		case "rate_limit_ipv6_prefix":
			doc.RateLimitIPv6Prefix = int(r.PositiveInt(path, k, 128))
		case "rate_limit_tiers":
			readList(r, path, k, MaxTiers, "tiers", &doc.RateLimitTiers, readTier)
		case "jwt_providers":
			readList(r, path, k, MaxJWTProviders, "providers", &doc.JWTProviders, readJWTProvider)
		case "revoked_tokens":
			readList(r, path, k, MaxRevokedTokens, "revocations", &doc.RevokedTokens, readRevocation)
		default:
			r.Unknown(path, k)
		}
	}
	if isObject && !sawVersion {
		r.FieldErrorf(path, "version", "required (set it to %d)", Version)
	}
	return doc
}

// readList reads the array at path.field into *list, each element with read. Past max
// elements it reports one error naming what and skips the rest.
func readList[T any](r *strictjson.Reader, path, field string, max int, what string, list *[]T, read func(*strictjson.Reader, string, *T)) {
	p := strictjson.Join(path, field)
	for i := range r.Array(path, field) {
		if i >= max {
			if i == max {
				r.FieldErrorf(path, field, "has more than %d %s", max, what)
			}
			r.Skip()
			continue
		}
		*list = append(*list, *new(T))
		read(r, strictjson.Index(p, i), &(*list)[i])
	}
}

func readRoute(r *strictjson.Reader, path string, rt *Route) {
	rt.Match.PathPrefix = "/"
	rt.Limits = DefaultLimitsValue()
	isObject := r.Peek() == strictjson.Object
	sawAuth := false
	for k := range r.Object(path) {
		switch k {
		case "name":
			rt.Name = r.String(path, k)
		case "match":
			readMatch(r, strictjson.Join(path, k), &rt.Match)
		case "auth":
			sawAuth = true
			readAuth(r, strictjson.Join(path, k), &rt.Auth)
		case "hide_credentials":
			rt.HideCredentials = r.Bool(path, k)
		case "limits":
			readLimits(r, strictjson.Join(path, k), &rt.Limits)
		case "permissions":
			rt.Permissions = readPermissionGuard(r, strictjson.Join(path, k))
		case "admin":
			rt.Admin = r.Bool(path, k)
		case "staff":
			rt.Staff = r.Bool(path, k)
		case "ip_allow":
			rt.IPAllow = r.Strings(path, k)
		case "ip_deny":
			rt.IPDeny = r.Strings(path, k)
		case "cors":
			rt.CORS = readCORS(r, strictjson.Join(path, k))
		case "security_headers":
			rt.SecurityHeaders = readSecurityHeaders(r, strictjson.Join(path, k))
		case "rate_limits":
			rt.RateLimits = readRateLimits(r, path, k)
		case "max_concurrent":
			rt.MaxConcurrent = readConcurrencyLimits(r, path, k)
		default:
			r.Unknown(path, k)
		}
	}
	if isObject && !sawAuth {
		// No implicit "none": a route without auth would silently open the upstream.
		r.FieldErrorf(path, "auth", `required (use {"type": "none"} for a public route)`)
	}
}

func readMatch(r *strictjson.Reader, path string, m *Match) {
	for k := range r.Object(path) {
		switch k {
		case "hosts":
			m.Hosts = r.Strings(path, k)
		case "path_prefix":
			m.PathPrefix = r.String(path, k)
		case "methods":
			m.Methods = r.Strings(path, k)
		default:
			r.Unknown(path, k)
		}
	}
}

func readAuth(r *strictjson.Reader, path string, a *Auth) {
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object(path) {
		switch k {
		case "type":
			a.Type = AuthType(r.String(path, k))
		case "webhook":
			a.Webhook = r.String(path, k)
		case "provider":
			a.Provider = r.String(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	if isObject && a.Type == "" {
		r.FieldErrorf(path, "type", `required: "api_key", "jwt", "api_key_or_jwt", "webhook" or "none"`)
	}
}

// Upper bounds keep a typo (an extra zero) from turning a limit into no limit.
const (
	maxHeaderCountBound = 10_000
	maxHeaderBytesBound = 8 << 20
	maxBodyBytesBound   = 1 << 40
)

func readLimits(r *strictjson.Reader, path string, l *Limits) {
	for k := range r.Object(path) {
		switch k {
		case "max_header_count":
			l.MaxHeaderCount = int(r.PositiveInt(path, k, maxHeaderCountBound))
		case "max_header_bytes":
			l.MaxHeaderBytes = int(r.PositiveInt(path, k, maxHeaderBytesBound))
		case "max_header_value_bytes":
			l.MaxHeaderValueBytes = int(r.PositiveInt(path, k, maxHeaderBytesBound))
		case "max_body_bytes":
			l.MaxBodyBytes = r.PositiveInt(path, k, maxBodyBytesBound)
		default:
			r.Unknown(path, k)
		}
	}
}

func readKey(r *strictjson.Reader, path string, key *Key) {
	key.Active = true
	for k := range r.Object(path) {
		switch k {
		case "id":
			key.ID = r.String(path, k)
		case "name":
			key.Name = r.String(path, k)
		case "sha256":
			key.SHA256 = r.String(path, k)
		case "active":
			key.Active = r.Bool(path, k)
		case "allowed_paths":
			key.AllowedPaths = r.Strings(path, k)
		case "permissions":
			key.Permissions = r.Strings(path, k)
		case "admin":
			key.Admin = r.Bool(path, k)
		case "staff":
			key.Staff = r.Bool(path, k)
		case "expires_at":
			if !r.IsNull() {
				key.ExpiresAt = r.Time(path, k)
			}
		case "tier":
			key.Tier = r.String(path, k)
		default:
			r.Unknown(path, k)
		}
	}
}
