package policy

import (
	"reflect"
	"strings"
	"testing"
)

// The edge-rule sections: guards, IP lists, CORS, security headers. Each bad value is refused
// with its JSON path, so an operator finds it.
func TestEdgeSectionErrors(t *testing.T) {
	route := func(auth, extra string) string {
		return `{"version":1,"routes":[{"name":"r","auth":{"type":"` + auth + `"}` + extra + `}]}`
	}
	cors := func(fields string) string { return route("none", `,"cors":{`+fields+`}`) }
	sec := func(fields string) string { return route("none", `,"security_headers":{`+fields+`}`) }
	tests := []struct {
		name, doc, want string
	}{
		{"guard on a public route", route("none", `,"admin":true`), `routes[0].auth: a route with permissions, admin or staff guards must authenticate`},
		{"empty permission guard", route("api_key", `,"permissions":{}`), `routes[0].permissions: must name at least one permission`},
		{"bad guard permission", route("api_key", `,"permissions":{"any":["ok","has space"]}`), `routes[0].permissions.any[1]: must be 1-128 letters`},
		{"duplicate guard permission", route("api_key", `,"permissions":{"all":["a","a"]}`), `routes[0].permissions.all[1]: duplicates [0] "a"`},
		{"unknown guard field", route("api_key", `,"permissions":{"none":["a"]}`), `routes[0].permissions.none: unknown field`},
		{"bad CIDR", route("none", `,"ip_allow":["10.0.0.0/33"]`), `routes[0].ip_allow[0]: must be an IP address or a CIDR`},
		{"host bits set", route("none", `,"ip_deny":["10.0.0.1/8"]`), `routes[0].ip_deny[0]: has host bits set: write 10.0.0.0/8`},
		{"garbage address", `{"version":1,"ip_allow":["localhost"]}`, `ip_allow[0]: must be an IP address or a CIDR`},
		{"zoned address", `{"version":1,"ip_deny":["fe80::1%eth0"]}`, `ip_deny[0]: must be an IP address or a CIDR`},
		{"negative hops", `{"version":1,"trusted_proxy_hops":-1}`, `trusted_proxy_hops: must be between 0 and 10`},
		{"cors without origins", route("none", `,"cors":{}`), `routes[0].cors.allowed_origins: required`},
		{"star with credentials", cors(`"allowed_origins":["*"],"allow_credentials":true`), `routes[0].cors.allowed_origins[0]: "*" cannot be combined with allow_credentials`},
		{"origin with a path", cors(`"allowed_origins":["https://a.example.com/"]`), `routes[0].cors.allowed_origins[0]: must be an origin`},
		{"origin without scheme", cors(`"allowed_origins":["a.example.com"]`), `routes[0].cors.allowed_origins[0]: must be an origin`},
		{"origin in upper case", cors(`"allowed_origins":["https://A.example.com"]`), `routes[0].cors.allowed_origins[0]: must be lower case`},
		{"inner wildcard origin", cors(`"allowed_origins":["https://a*.example.com"]`), `routes[0].cors.allowed_origins[0]: must be an origin`},
		{"bare wildcard origin", cors(`"allowed_origins":["https://*"]`), `routes[0].cors.allowed_origins[0]: must be an origin`},
		{"bad origin port", cors(`"allowed_origins":["https://a.example.com:0"]`), `routes[0].cors.allowed_origins[0]: must be an origin`},
		{"header star with credentials", cors(`"allowed_origins":["https://a.example.com"],"allowed_headers":["*"],"allow_credentials":true`), `routes[0].cors.allowed_headers[0]: "*" cannot be combined with allow_credentials`},
		{"bad header name", cors(`"allowed_origins":["https://a.example.com"],"allowed_headers":["x a"]`), `routes[0].cors.allowed_headers[0]: must be a header name`},
		{"bad cors method", cors(`"allowed_origins":["https://a.example.com"],"allowed_methods":["get"]`), `routes[0].cors.allowed_methods[0]: must be an upper-case HTTP method`},
		{"max age too long", cors(`"allowed_origins":["https://a.example.com"],"max_age_seconds":86401`), `routes[0].cors.max_age_seconds: must be between 0 and 86400`},
		{"bad security mode", sec(`"mode":"replace"`), `routes[0].security_headers.mode: must be "add" or "override"`},
		{"weak preload", sec(`"hsts":{"max_age_seconds":600,"preload":true}`), `routes[0].security_headers.hsts.preload: needs max_age_seconds of at least 31536000`},
		{"bad frame options", sec(`"frame_options":"ALLOW-FROM x"`), `routes[0].security_headers.frame_options: must be "DENY", "SAMEORIGIN"`},
		{"csp with newline", sec(`"content_security_policy":"a\nb"`), `routes[0].security_headers.content_security_policy: must be a header value`},
		{"bad removal", sec(`"remove":["x y"]`), `routes[0].security_headers.remove[0]: must be a header name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Defaults: an empty security_headers section stands for today's recommendations, a CORS
// section without methods allows the CORS-safelisted ones, and "hsts": null leaves HSTS alone.
func TestEdgeSectionDefaults(t *testing.T) {
	doc, err := Parse([]byte(`{"version":1,"routes":[
		{"name":"a","auth":{"type":"none"},"security_headers":{},"cors":{"allowed_origins":["https://x.example.com","null","https://*.example.com:8443"]}},
		{"name":"b","auth":{"type":"none"},"security_headers":{"hsts":null,"frame_options":""}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *doc.Routes[0].SecurityHeaders, DefaultSecurityHeaders(); !reflect.DeepEqual(got, want) {
		t.Fatalf("security_headers {} = %+v, want %+v", got, want)
	}
	if got := doc.Routes[0].CORS.AllowedMethods; !reflect.DeepEqual(got, []string{"GET", "HEAD", "POST"}) {
		t.Fatalf("default CORS methods = %v", got)
	}
	b := doc.Routes[1].SecurityHeaders
	if b.HSTS != nil || b.FrameOptions != "" || b.ContentTypeOptions != "nosniff" {
		t.Fatalf("route b security headers = %+v", b)
	}
}
