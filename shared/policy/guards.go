package policy

import "github.com/portcullis/portcullis/shared/strictjson"

func readPermissionGuard(r *strictjson.Reader, path string) *PermissionGuard {
	g := &PermissionGuard{}
	for k := range r.Object(path) {
		switch k {
		case "all":
			g.All = r.Strings(path, k)
		case "any":
			g.Any = r.Strings(path, k)
		case "reveal_missing":
			g.RevealMissing = r.Bool(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	return g
}

// checkGuards validates a route's permission, admin and staff guards. A guard needs an
// identity, so a public route cannot carry one: it would refuse every request, which is never
// what the operator meant.
func checkGuards(d *strictjson.Decoder, r *Route, path string) {
	guarded := r.Admin || r.Staff || r.Permissions != nil
	if guarded && (r.Auth.Type == AuthNone || r.Auth.Type == AuthWebhook) {
		d.FieldErrorf(path, "auth", `a route with permissions, admin or staff guards must authenticate a caller (api_key)`)
	}
	g := r.Permissions
	if g == nil {
		return
	}
	gp := strictjson.Join(path, "permissions")
	if len(g.All) == 0 && len(g.Any) == 0 {
		d.Errorf(gp, `must name at least one permission in "all" or "any"`)
	}
	for _, f := range []struct {
		field string
		list  []string
	}{{"all", g.All}, {"any", g.Any}} {
		field, list := f.field, f.list
		for i, p := range list {
			if !isPermission(p) {
				d.Errorf(strictjson.Index(strictjson.Join(gp, field), i), "must be 1-128 letters, digits or ':._/*-', starting with a letter or digit")
			}
		}
		checkUnique(d, list, strictjson.Join(gp, field))
	}
}
