package engine

import (
	"strconv"

	"github.com/portcullis/portcullis/shared/policy"
)

// guardCheck refuses an identity without the route's permissions or admin/staff flags. It
// reads the identity, whatever established it; Compile places it after authentication.
type guardCheck struct {
	all, any      []string
	admin, staff  bool
	revealMissing bool
}

func newGuardCheck(r *policy.Route) *guardCheck {
	g := &guardCheck{admin: r.Admin, staff: r.Staff}
	if p := r.Permissions; p != nil {
		g.all, g.any, g.revealMissing = p.All, p.Any, p.RevealMissing
	}
	return g
}

func (g *guardCheck) onHeaders(f *flow) Code {
	id := f.identity
	if id == nil {
		return CodeInternalError // Compile never places a guard without authentication
	}
	ok := (!g.admin || id.Admin) && (!g.staff || id.Staff)
	for _, p := range g.all {
		ok = ok && id.HasPermission(p)
	}
	if len(g.any) > 0 {
		anyOK := false
		for _, p := range g.any {
			if id.HasPermission(p) {
				anyOK = true
				break
			}
		}
		ok = ok && anyOK
	}
	if ok {
		return ""
	}
	if g.revealMissing {
		f.detail = g.missingBody(id)
	}
	return CodeInsufficientScope
}

// missingBody is the denial body naming what the identity lacks: each missing "all"
// permission, "admin" / "staff", and the "any" list as one alternative.
func (g *guardCheck) missingBody(id *Identity) []byte {
	var missing []string
	if g.admin && !id.Admin {
		missing = append(missing, "admin")
	}
	if g.staff && !id.Staff {
		missing = append(missing, "staff")
	}
	for _, p := range g.all {
		if !id.HasPermission(p) {
			missing = append(missing, p)
		}
	}
	b := []byte(`{"error":"the credential lacks a permission this route requires","code":"insufficient_scope","missing":[`)
	for i, m := range missing {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, m)
	}
	b = append(b, ']')
	if len(g.any) > 0 {
		anyOK := false
		for _, p := range g.any {
			anyOK = anyOK || id.HasPermission(p)
		}
		if !anyOK {
			b = append(b, `,"missing_any_of":[`...)
			for i, p := range g.any {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendQuote(b, p)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}
