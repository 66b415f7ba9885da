package engine

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// Engine is a compiled policy. It is immutable and safe for concurrent use.
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
	keys          map[[32]byte]*key
}

type route struct {
	name     string
	anyHost  bool
	exact    []string // exact host names
	suffixes []string // ".example.com" for "*.example.com"
	prefix   string
	methods  []string
	auth     policy.AuthType
	hide     bool
	limits   policy.Limits
}

type key struct {
	id       string
	hash     [32]byte
	active   bool
	expires  time.Time
	allowed  []string
	perms    []string
	upstream [][2]string // identity headers for the upstream, built once
}

// Upstream identity headers. Any client-supplied header with this prefix is removed.
const (
	HeaderPrefix  = "x-portcullis-"
	HeaderKeyID   = "x-portcullis-key-id"
	HeaderKeyName = "x-portcullis-key-name"
)

// Compile turns a parsed policy into lookup tables. doc must come from policy.Parse or
// policy.Decode (normalized and validated); Compile re-checks only what it relies on.
func Compile(doc *policy.Document) (*Engine, error) {
	if doc == nil {
		return nil, fmt.Errorf("compile policy: no document")
	}
	e := &Engine{
		routes:        make([]route, len(doc.Routes)),
		defaultAllow:  doc.DefaultAction == policy.ActionAllow,
		defaultLimits: doc.DefaultLimits,
		keys:          make(map[[32]byte]*key, len(doc.Keys)),
	}
	for i, r := range doc.Routes {
		cr := route{
			name:    r.Name,
			prefix:  r.Match.PathPrefix,
			methods: r.Match.Methods,
			auth:    r.Auth.Type,
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
	}
	keys := make([]key, len(doc.Keys)) // one allocation for all keys
	for i, k := range doc.Keys {
		ck := &keys[i]
		if n, err := hex.Decode(ck.hash[:], []byte(k.SHA256)); err != nil || n != 32 {
			return nil, fmt.Errorf("compile policy: keys[%d].sha256 is not 64 hex digits", i)
		}
		if _, dup := e.keys[ck.hash]; dup {
			return nil, fmt.Errorf("compile policy: keys[%d].sha256 is a duplicate", i)
		}
		ck.id, ck.active, ck.expires = k.ID, k.Active, k.ExpiresAt
		ck.allowed, ck.perms = k.AllowedPaths, k.Permissions
		ck.upstream = make([][2]string, 1, 2)
		ck.upstream[0] = [2]string{HeaderKeyID, k.ID}
		if k.Name != "" {
			ck.upstream = append(ck.upstream, [2]string{HeaderKeyName, k.Name})
		}
		e.keys[ck.hash] = ck
	}
	return e, nil
}

// RouteCount and KeyCount describe the compiled policy (for logs and metrics).
func (e *Engine) RouteCount() int { return len(e.routes) }

// KeyCount is the number of keys in the compiled policy.
func (e *Engine) KeyCount() int { return len(e.keys) }
