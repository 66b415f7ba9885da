package engine

import (
	"fmt"
	"strings"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
)

// Engine is a compiled policy. It is safe for concurrent use; only its keys change after
// Compile (putKey, removeKey), each change whole under a lock.
type Engine struct {
	routes []route
	// Route candidates by host: routes naming the exact host, and routes any host can match
	// (no hosts, "*", or a wildcard), each ascending by document position. A request tests only
	// these two lists, merged in order, so first-match semantics hold without scanning routes
	// bound to other hosts.
	byHost        map[string][]int
	anyHostRoutes []int
	defaultAllow  bool
	defaultLimits policy.Limits
	keys          *keySet
	presented     *keyCache // keys recently presented, by keyed hash (keycache.go)
	trustedHops   int
	needsClient   bool // some route has an IP list: the host must supply Request.Source
	anyCORS       bool

	// Rate limits (ratelimit_compile.go).
	tiers                                     map[string][]rateLimit
	ipv6Prefix                                int
	usesCounters, usesConcurrency, usesGlobal bool
	// JWT: the providers by name, the verification cache (per Engine, so per VM and per
	// snapshot) and the revoked token ids.
	providers map[string]*jwtProvider
	tokens    *tokenCache
	revoked   map[string]struct{}
	// Webhook verifiers by name; routes hold the slot, so a delta replaces a verifier (a
	// rotated secret) for every route that names it (webhook_delta.go).
	verifiers map[string]*verifierSlot
}

type route struct {
	name     string
	anyHost  bool
	exact    []string // exact host names
	suffixes []string // ".example.com" for "*.example.com"
	prefix   string
	methods  []string
	hide     bool
	limits   policy.Limits

	// checks run in order on the request headers; see check.
	checks     []check
	cors       *corsPolicy
	secHeaders []HeaderEdit
}

// Compile turns a parsed policy into lookup tables and, per route, the ordered checks that
// route needs. doc must come from policy.Parse or policy.Decode (normalized and validated);
// Compile re-checks only what it relies on. The keys become a key table, as a snapshot's.
func Compile(doc *policy.Document) (*Engine, error) {
	if doc == nil {
		return nil, fmt.Errorf("compile policy: no document")
	}
	var table *keytable.Table
	if len(doc.Keys) > 0 {
		b, err := keytable.Encode(doc.Keys)
		if err == nil {
			table, err = keytable.Parse(b)
		}
		if err != nil {
			return nil, fmt.Errorf("compile policy: %w", err)
		}
	}
	return compile(doc, table)
}

// CompileWithKeys is Compile with the keys from table (snapshot.DecodeCompact's) instead of
// doc.Keys, which must then be empty. table may be nil (no keys); the engine reads it in place.
func CompileWithKeys(doc *policy.Document, table *keytable.Table) (*Engine, error) {
	if doc == nil {
		return nil, fmt.Errorf("compile policy: no document")
	}
	if table != nil && len(doc.Keys) > 0 {
		return nil, fmt.Errorf("compile policy: keys both in the document and in a key table")
	}
	return compile(doc, table)
}

// compile compiles doc with the keys of table (doc.Keys are not read).
func compile(doc *policy.Document, table *keytable.Table) (*Engine, error) {
	e := &Engine{
		routes:        make([]route, len(doc.Routes)),
		defaultAllow:  doc.DefaultAction == policy.ActionAllow,
		defaultLimits: doc.DefaultLimits,
		presented:     newKeyCache(),
		trustedHops:   doc.TrustedProxyHops,
	}
	if err := e.compileJWT(doc); err != nil {
		return nil, err
	}
	globalAllow, err := newIPSet(doc.IPAllow)
	if err != nil {
		return nil, fmt.Errorf("compile policy: ip_allow: %w", err)
	}
	globalDeny, err := newIPSet(doc.IPDeny)
	if err != nil {
		return nil, fmt.Errorf("compile policy: ip_deny: %w", err)
	}
	e.verifiers = make(map[string]*verifierSlot, len(doc.Webhooks))
	for i := range doc.Webhooks {
		v, err := compileVerifier(&doc.Webhooks[i])
		if err != nil {
			return nil, fmt.Errorf("compile policy: %w", err)
		}
		e.verifiers[v.name] = &verifierSlot{v: v}
	}
	e.compileTiers(doc)
	for i := range doc.Routes {
		if err := e.compileRoute(i, &doc.Routes[i], globalAllow, globalDeny); err != nil {
			return nil, fmt.Errorf("compile policy: routes[%d]: %w", i, err)
		}
	}
	if table == nil {
		table, _ = keytable.Parse(emptyTable)
	}
	e.compileKeys(table)
	return e, nil
}

func (e *Engine) compileRoute(i int, r *policy.Route, globalAllow, globalDeny *ipSet) error {
	cr := route{
		name:    r.Name,
		prefix:  r.Match.PathPrefix,
		methods: r.Match.Methods,
		hide:    r.HideCredentials,
		limits:  r.Limits,
		anyHost: len(r.Match.Hosts) == 0,
	}
	for _, h := range r.Match.Hosts {
		switch {
		case h == "*":
			cr.anyHost = true
		case strings.HasPrefix(h, "*."):
			cr.suffixes = append(cr.suffixes, h[1:])
		default:
			cr.exact = append(cr.exact, h)
		}
	}
	cr.secHeaders = securityEdits(r.SecurityHeaders)
	cr.cors = compileCORS(r.CORS, cr.secHeaders)

	// The pipeline, in order. Each check is here only when the route uses it.
	cr.checks = append(cr.checks, limitsCheck{&cr.limits})
	ip := &ipCheck{}
	for _, s := range []*ipSet{globalDeny} {
		if s != nil {
			ip.deny = append(ip.deny, s)
		}
	}
	if globalAllow != nil {
		ip.allow = append(ip.allow, globalAllow)
	}
	routeAllow, err := newIPSet(r.IPAllow)
	if err != nil {
		return fmt.Errorf("ip_allow: %w", err)
	}
	routeDeny, err := newIPSet(r.IPDeny)
	if err != nil {
		return fmt.Errorf("ip_deny: %w", err)
	}
	if routeAllow != nil {
		ip.allow = append(ip.allow, routeAllow)
	}
	if routeDeny != nil {
		ip.deny = append(ip.deny, routeDeny)
	}
	if len(ip.allow)+len(ip.deny) > 0 {
		cr.checks = append(cr.checks, ip)
		e.needsClient = true
	}
	if cr.cors != nil {
		cr.checks = append(cr.checks, corsPreflight{cr.cors})
		e.anyCORS = true
	}
	switch r.Auth.Type {
	case policy.AuthAPIKey:
		cr.checks = append(cr.checks, apiKeyCheck{})
	case policy.AuthJWT, policy.AuthAPIKeyOrJWT:
		p := e.providers[r.Auth.Provider]
		if p == nil {
			return fmt.Errorf("auth provider %q is not defined", r.Auth.Provider)
		}
		cr.checks = append(cr.checks, &jwtCheck{p: p, orKey: r.Auth.Type == policy.AuthAPIKeyOrJWT})
	case policy.AuthNone, policy.AuthWebhook:
	default:
		return fmt.Errorf("auth type %q is not supported", r.Auth.Type)
	}
	if name := r.Auth.Webhook; name != "" {
		slot := e.verifiers[name]
		if slot == nil {
			return fmt.Errorf("auth.webhook names no verifier: %q", name)
		}
		slot.routes++
		cr.checks = append(cr.checks, webhookCheck{slot})
	}
	if r.Admin || r.Staff || r.Permissions != nil {
		if r.Auth.Type == policy.AuthNone {
			return fmt.Errorf("guards need an authenticated route")
		}
		cr.checks = append(cr.checks, newGuardCheck(r))
	}
	if rc := e.compileRateCheck(r); rc != nil {
		cr.checks = append(cr.checks, rc)
		e.usesCounters = true
		e.usesConcurrency = e.usesConcurrency || len(rc.conc) > 0
		for _, l := range rc.limits {
			e.usesGlobal = e.usesGlobal || l.global
		}
	}

	e.routes[i] = cr
	if cr.anyHost || len(cr.suffixes) > 0 {
		e.anyHostRoutes = append(e.anyHostRoutes, i)
	}
	for _, h := range cr.exact {
		if e.byHost == nil {
			e.byHost = make(map[string][]int)
		}
		if l := e.byHost[h]; len(l) == 0 || l[len(l)-1] != i {
			e.byHost[h] = append(l, i)
		}
	}
	return nil
}

func (e *Engine) compileJWT(doc *policy.Document) error {
	providers, err := compileProviders(doc)
	if err != nil {
		return err
	}
	e.providers = providers
	if len(providers) > 0 {
		e.tokens = newTokenCache()
	}
	if len(doc.RevokedTokens) > 0 {
		e.revoked = make(map[string]struct{}, len(doc.RevokedTokens))
		for _, v := range doc.RevokedTokens {
			e.revoked[v.JTI] = struct{}{}
		}
	}
	return nil
}

// emptyTable is the encoding of no keys.
var emptyTable, _ = keytable.Encode(nil)

func (e *Engine) compileKeys(t *keytable.Table) {
	e.keys = newKeySet(t)
	// A key's tier may count with the global rate-limit service; the host must know (UsesGlobal).
	for i := range len(t.Tiers()) + 1 {
		if !t.UsesTier(i) {
			continue
		}
		name := ""
		if i > 0 {
			name = t.Tiers()[i-1]
		}
		for _, l := range e.tierOf(name) {
			e.usesGlobal = e.usesGlobal || l.global
		}
	}
}

// RouteCount and KeyCount describe the compiled policy (for logs and metrics).
func (e *Engine) RouteCount() int { return len(e.routes) }

// KeyCount is the number of keys in the compiled policy.
func (e *Engine) KeyCount() int {
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	return e.keys.count
}

// NeedsClientAddress reports whether some route judges the client address. Hosts for which the
// address is costly set Request.SourceFunc instead, which only such routes call.
func (e *Engine) NeedsClientAddress() bool { return e.needsClient }
