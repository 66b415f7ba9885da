package engine

import "net/netip"

// A check is one step of a route's pipeline. Compile builds, per route, the ordered list of
// checks that route needs, so a route pays only for what it uses and a new feature is one
// check (its policy section, its file here, its denial codes in the table, its tests).
//
// onHeaders runs on the request headers. It returns "" to continue, a denial code to refuse,
// or codeAnswered after setting f.answer to a non-error local reply (a CORS preflight). It
// may set the identity and add request or response header edits on f.
type check interface {
	onHeaders(f *flow) Code
}

// run dispatches to the check's concrete type. Calling through the interface would move the
// flow to the heap (Go cannot prove an unknown method keeps it), one allocation per request;
// this switch keeps Decide allocation-free on its deny paths. A new check adds its case here.
func run(c check, f *flow) Code {
	switch c := c.(type) {
	case limitsCheck:
		return c.onHeaders(f)
	case *ipCheck:
		return c.onHeaders(f)
	case corsPreflight:
		return c.onHeaders(f)
	case apiKeyCheck:
		return c.onHeaders(f)
	case *jwtCheck:
		return c.onHeaders(f)
	case *guardCheck:
		return c.onHeaders(f)
	case webhookCheck:
		return c.onHeaders(f)
	case *rateCheck:
		return c.onHeaders(f)
	}
	return CodeInternalError // a check Compile placed but run does not know: refuse
}

// codeAnswered is what a check returns after answering the request itself.
const codeAnswered Code = "\x00answered"

// flow is one request on its way through the pipeline. It lives on Decide's stack.
type flow struct {
	e    *Engine
	r    *Request
	rt   *route
	path string // the path part of :path, checked by path hygiene
	scan headerScan

	identity   *Identity
	credHeader string // the header that carried the credential, for hide_credentials

	// client is the client address, resolved on first use (see clientAddr).
	client                   netip.Addr
	clientKnown, clientTried bool

	// resp are the response header edits gathered so far (security and CORS headers). They go
	// on the upstream's response and on the filter's own replies alike.
	resp []HeaderEdit
	// denyResp replaces resp on a denial when they differ (CORS exposes more headers there).
	denyResp []HeaderEdit

	body   *verifier    // a signature to verify over the whole body (DecideBody)
	limits *LimitResult // set by the rate-limit check

	answer *Decision // set with codeAnswered
	detail []byte    // a denial body that replaces the table's (reveal_missing), else nil
}
