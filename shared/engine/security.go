package engine

import (
	"strconv"

	"github.com/portcullis/portcullis/shared/policy"
)

// securityEdits compiles a security_headers section into response edits, built once per
// policy. "add" sets a header only where the upstream did not; "override" always does.
func securityEdits(s *policy.SecurityHeaders) []HeaderEdit {
	if s == nil {
		return nil
	}
	mode := EditAdd
	if s.Mode == policy.SecurityModeOverride {
		mode = EditSet
	}
	var out []HeaderEdit
	add := func(name, value string) {
		if value != "" {
			out = append(out, HeaderEdit{Mode: mode, Name: name, Value: value})
		}
	}
	if h := s.HSTS; h != nil {
		v := "max-age=" + strconv.FormatInt(h.MaxAgeSeconds, 10)
		if h.IncludeSubdomains {
			v += "; includeSubDomains"
		}
		if h.Preload {
			v += "; preload"
		}
		add("strict-transport-security", v)
	}
	add("x-content-type-options", s.ContentTypeOptions)
	add("x-frame-options", s.FrameOptions)
	add("referrer-policy", s.ReferrerPolicy)
	add("content-security-policy", s.ContentSecurityPolicy)
	add("permissions-policy", s.PermissionsPolicy)
	for _, name := range s.Remove {
		out = append(out, HeaderEdit{Mode: EditRemove, Name: name})
	}
	return out
}
