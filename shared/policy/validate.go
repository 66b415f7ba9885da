package policy

import (
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// validateDocument checks values and cross-references, and normalizes what has one canonical
// form (host names and hashes to lower case). It also runs on a document that decoded with
// errors (through strictjson.Decoder.Check, which drops what those errors cover), so it must
// not assume that a value is there: a field that failed to decode holds its zero value.
func validateDocument(d *strictjson.Decoder, doc *Document, path string) {
	checkLimits(d, &doc.DefaultLimits, strictjson.Join(path, "default_limits"))
	checkJWTProviders(d, doc.JWTProviders, strictjson.Join(path, "jwt_providers"))
	names := make(map[string]int, len(doc.Routes))
	for i := range doc.Routes {
		r := &doc.Routes[i]
		rp := strictjson.Index(strictjson.Join(path, "routes"), i)
		switch {
		case r.Name == "":
			d.FieldErrorf(rp, "name", "required")
		case !isIdentifier(r.Name, 64):
			d.FieldErrorf(rp, "name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		default:
			if j, dup := names[r.Name]; dup {
				d.FieldErrorf(rp, "name", "duplicates routes[%d].name %q", j, r.Name)
			}
			names[r.Name] = i
		}
		checkMatch(d, &r.Match, strictjson.Join(rp, "match"))
		checkRouteAuth(d, doc, r, rp)
		checkRouteWebhook(d, r, doc.Webhooks, strictjson.Join(rp, "auth"))
		checkLimits(d, &r.Limits, strictjson.Join(rp, "limits"))
		checkGuards(d, r, rp)
		checkIPList(d, r.IPAllow, strictjson.Join(rp, "ip_allow"))
		checkIPList(d, r.IPDeny, strictjson.Join(rp, "ip_deny"))
		if r.CORS != nil {
			checkCORS(d, r.CORS, strictjson.Join(rp, "cors"))
		}
		if r.SecurityHeaders != nil {
			checkSecurityHeaders(d, r.SecurityHeaders, strictjson.Join(rp, "security_headers"))
		}
		checkRouteRateLimits(d, r, rp)
	}
	checkTiers(d, doc, path)
	checkIPList(d, doc.IPAllow, strictjson.Join(path, "ip_allow"))
	checkIPList(d, doc.IPDeny, strictjson.Join(path, "ip_deny"))
	checkKeys(d, doc.Keys, strictjson.Join(path, "keys"))
	checkWebhooks(d, doc.Webhooks, strictjson.Join(path, "webhooks"))
	checkRevocations(d, doc.RevokedTokens, strictjson.Join(path, "revoked_tokens"))
}

func checkMatch(d *strictjson.Decoder, m *Match, path string) {
	for i, h := range m.Hosts {
		h = strings.ToLower(h)
		m.Hosts[i] = h
		if msg := hostPatternProblem(h); msg != "" {
			d.Errorf(strictjson.Index(strictjson.Join(path, "hosts"), i), "%s", msg)
		}
	}
	checkUnique(d, m.Hosts, strictjson.Join(path, "hosts"))
	if msg := pathPrefixProblem(m.PathPrefix); msg != "" {
		d.FieldErrorf(path, "path_prefix", "%s", msg)
	}
	for i, meth := range m.Methods {
		if !isMethod(meth) {
			d.Errorf(strictjson.Index(strictjson.Join(path, "methods"), i), "must be an upper-case HTTP method such as GET, not %q", meth)
		}
	}
	checkUnique(d, m.Methods, strictjson.Join(path, "methods"))
}

func checkLimits(d *strictjson.Decoder, l *Limits, path string) {
	if l.MaxHeaderValueBytes > l.MaxHeaderBytes && l.MaxHeaderBytes > 0 {
		d.FieldErrorf(path, "max_header_value_bytes", "must not exceed max_header_bytes (%d)", l.MaxHeaderBytes)
	}
}

func checkKeys(d *strictjson.Decoder, keys []Key, path string) {
	ids := make(map[string]int, len(keys))
	hashes := make(map[string]int, len(keys))
	for i := range keys {
		k := &keys[i]
		// The key's path is built only when it has an error: a snapshot has thousands of keys.
		kp := func() string { return strictjson.Index(path, i) }
		switch {
		case k.ID == "":
			d.FieldErrorf(kp(), "id", "required")
		case !isIdentifier(k.ID, 128):
			d.FieldErrorf(kp(), "id", "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
		default:
			if j, dup := ids[k.ID]; dup {
				d.FieldErrorf(kp(), "id", "duplicates keys[%d].id %q", j, k.ID)
			}
			ids[k.ID] = i
		}
		// The name travels to the upstream in a header, so it must be a valid header value.
		if len(k.Name) > 200 || hasControl(k.Name) {
			d.FieldErrorf(kp(), "name", "must be at most 200 bytes without control characters")
		}
		switch {
		case k.SHA256 == "":
			d.FieldErrorf(kp(), "sha256", "required: the hex SHA-256 of the key (the key itself never appears in a policy)")
		case !normalizeHex(&k.SHA256, 64):
			d.FieldErrorf(kp(), "sha256", "must be 64 hex digits")
		default:
			if j, dup := hashes[k.SHA256]; dup {
				d.FieldErrorf(kp(), "sha256", "duplicates keys[%d].sha256", j)
			}
			hashes[k.SHA256] = i
		}
		for j, p := range k.AllowedPaths {
			if msg := pathPrefixProblem(p); msg != "" {
				d.Errorf(strictjson.Index(strictjson.Join(kp(), "allowed_paths"), j), "%s", msg)
			}
		}
		if firstDuplicate(k.AllowedPaths) {
			checkUnique(d, k.AllowedPaths, strictjson.Join(kp(), "allowed_paths"))
		}
		for j, p := range k.Permissions {
			if !isPermission(p) {
				d.Errorf(strictjson.Index(strictjson.Join(kp(), "permissions"), j), "must be 1-128 letters, digits or ':._/*-', starting with a letter or digit")
			}
		}
		if firstDuplicate(k.Permissions) {
			checkUnique(d, k.Permissions, strictjson.Join(kp(), "permissions"))
		}
	}
}

// firstDuplicate reports whether any entry repeats an earlier one, without building paths.
func firstDuplicate(list []string) bool {
	for i := 1; i < len(list); i++ {
		for j := 0; j < i; j++ {
			if list[i] == list[j] {
				return true
			}
		}
	}
	return false
}

func checkUnique(d *strictjson.Decoder, list []string, path string) {
	for i := 1; i < len(list); i++ {
		for j := 0; j < i; j++ {
			if list[i] == list[j] {
				d.Errorf(strictjson.Index(path, i), "duplicates [%d] %q", j, list[i])
				break
			}
		}
	}
}
