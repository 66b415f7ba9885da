package engine

// Decide runs the request pipeline on the request headers: path hygiene, route match, then the
// route's checks in order (limits, client address lists, CORS preflights, authentication,
// guards). Route matching precedes the limits because limits are per route; path hygiene
// precedes matching so that no route is ever matched on an ambiguous path.
func (e *Engine) Decide(r *Request) Decision {
	path, ok := cleanPath(r.Path)
	if !ok {
		return Deny(CodeInvalidPath)
	}
	f := flow{e: e, r: r, path: path, scan: scanHeaders(r.Headers)}
	host := hostOf(r.Authority)
	var ambiguous bool
	if f.rt, ambiguous = e.match(host, r.Method, path); ambiguous {
		return Deny(CodeInvalidPath)
	}
	if e.anyCORS && r.Method == "OPTIONS" {
		// A CORS preflight is matched as the request it announces, so a route limited to GET
		// still answers the preflight of a GET; only a route with CORS answers preflights.
		if m := preflightMethod(r.Headers); m != "" {
			rt, ambiguous := e.match(host, m, path)
			if ambiguous {
				return Deny(CodeInvalidPath)
			}
			if rt != nil && rt.cors != nil {
				f.rt = rt
			}
		}
	}
	if f.rt == nil {
		if code := (limitsCheck{&e.defaultLimits}).onHeaders(&f); code != "" {
			return f.deny(code)
		}
		if !e.defaultAllow {
			return f.deny(CodeNoRoute)
		}
		return f.allow()
	}
	f.resp = f.rt.secHeaders
	if f.rt.cors != nil {
		f.rt.cors.annotate(&f)
	}
	for _, c := range f.rt.checks {
		switch code := run(c, &f); code {
		case "":
		case codeAnswered:
			d := *f.answer
			d.Route = f.rt.name
			return d
		default:
			return f.deny(code)
		}
	}
	return f.allow()
}

// deny returns the table's denial for code with the route's response headers applied.
func (f *flow) deny(code Code) Decision {
	d := Deny(code)
	if f.rt != nil {
		d.Route = f.rt.name
	}
	if f.identity != nil {
		d.KeyID = f.identity.KeyID
	}
	if f.detail != nil {
		d.Body = f.detail
	}
	d.Limits = f.limits
	edits := f.resp
	if f.denyResp != nil {
		edits = f.denyResp
	}
	if len(edits) > 0 {
		d.Headers = ApplyResponseEdits(d.Headers, edits)
	}
	return d
}

func (f *flow) allow() Decision {
	d := Decision{Allow: true, Stage: StageAllow, MaxBodyBytes: f.e.defaultLimits.MaxBodyBytes, Response: f.resp}
	if f.rt != nil {
		d.Route = f.rt.name
		d.MaxBodyBytes = f.rt.limits.MaxBodyBytes
	}
	if f.scan.reserved {
		d.Remove = reservedNames(f.r.Headers)
	}
	if f.rt != nil && f.rt.hide && f.credHeader != "" {
		d.Remove = withName(d.Remove, f.credHeader)
	}
	if id := f.identity; id != nil {
		d.Identity, d.KeyID, d.Set = id, id.KeyID, id.upstream
	}
	if f.body != nil {
		d.BufferBody, d.body, d.denyEdits = true, f.body, f.resp
		if f.denyResp != nil {
			d.denyEdits = f.denyResp
		}
	}
	d.Limits = f.limits
	return d
}

// The removal lists of hide_credentials on a request without reserved headers, the common
// case: shared, so that an allowed request allocates nothing for them. Read-only.
var (
	removeAPIKey        = []string{"x-api-key"}
	removeAuthorization = []string{"authorization"}
)

// withName returns names with name added; when names is empty and name is one of the
// credential headers, a shared list.
func withName(names []string, name string) []string {
	if len(names) == 0 {
		switch name {
		case "x-api-key":
			return removeAPIKey
		case "authorization":
			return removeAuthorization
		}
	}
	return append(names, name)
}
