package policy

import "github.com/portcullis/portcullis/shared/strictjson"

// The defaults of a security_headers section: current recommendations for an API behind a
// TLS-terminating proxy.
const (
	DefaultHSTSMaxAge     = 31536000 // one year
	DefaultReferrerPolicy = "strict-origin-when-cross-origin"
)

// DefaultSecurityHeaders returns the section "security_headers": {} stands for.
func DefaultSecurityHeaders() SecurityHeaders {
	return SecurityHeaders{
		Mode:               SecurityModeAdd,
		HSTS:               &HSTS{MaxAgeSeconds: DefaultHSTSMaxAge, IncludeSubdomains: true},
		ContentTypeOptions: "nosniff",
		FrameOptions:       "DENY",
		ReferrerPolicy:     DefaultReferrerPolicy,
	}
}

func readSecurityHeaders(r *strictjson.Reader, path string) *SecurityHeaders {
	s := DefaultSecurityHeaders()
	for k := range r.Object(path) {
		switch k {
		case "mode":
			s.Mode = r.String(path, k)
		case "hsts":
			if r.IsNull() { // "hsts": null leaves the header alone
				s.HSTS = nil
				continue
			}
			s.HSTS = readHSTS(r, strictjson.Join(path, k))
		case "content_type_options":
			s.ContentTypeOptions = r.String(path, k)
		case "frame_options":
			s.FrameOptions = r.String(path, k)
		case "referrer_policy":
			s.ReferrerPolicy = r.String(path, k)
		case "content_security_policy":
			s.ContentSecurityPolicy = r.String(path, k)
		case "permissions_policy":
			s.PermissionsPolicy = r.String(path, k)
		case "remove":
			s.Remove = r.Strings(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	return &s
}

func readHSTS(r *strictjson.Reader, path string) *HSTS {
	h := &HSTS{MaxAgeSeconds: DefaultHSTSMaxAge, IncludeSubdomains: true}
	for k := range r.Object(path) {
		switch k {
		case "max_age_seconds":
			h.MaxAgeSeconds = r.NonNegativeInt(path, k, 2*DefaultHSTSMaxAge)
		case "include_subdomains":
			h.IncludeSubdomains = r.Bool(path, k)
		case "preload":
			h.Preload = r.Bool(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	return h
}

func checkSecurityHeaders(d *strictjson.Decoder, s *SecurityHeaders, path string) {
	if s.Mode != SecurityModeAdd && s.Mode != SecurityModeOverride {
		d.FieldErrorf(path, "mode", `must be "add" or "override"`)
	}
	if h := s.HSTS; h != nil && h.Preload && (h.MaxAgeSeconds < DefaultHSTSMaxAge || !h.IncludeSubdomains) {
		// The preload list's own submission rules: a weaker header would be refused there.
		d.FieldErrorf(strictjson.Join(path, "hsts"), "preload", "needs max_age_seconds of at least %d and include_subdomains", DefaultHSTSMaxAge)
	}
	switch s.FrameOptions {
	case "", "DENY", "SAMEORIGIN":
	default:
		d.FieldErrorf(path, "frame_options", `must be "DENY", "SAMEORIGIN" or "" (leave alone)`)
	}
	if s.ContentTypeOptions != "" && s.ContentTypeOptions != "nosniff" {
		d.FieldErrorf(path, "content_type_options", `must be "nosniff" or "" (leave alone)`)
	}
	for _, f := range []struct{ field, v string }{
		{"referrer_policy", s.ReferrerPolicy}, {"content_security_policy", s.ContentSecurityPolicy}, {"permissions_policy", s.PermissionsPolicy},
	} {
		if hasControl(f.v) || len(f.v) > 4096 {
			d.FieldErrorf(path, f.field, "must be a header value of at most 4096 bytes without control characters")
		}
	}
	checkHeaderNames(d, s.Remove, strictjson.Join(path, "remove"), false)
}
