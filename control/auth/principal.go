package auth

import (
	"context"

	"github.com/portcullis/portcullis/control/store"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	TokenID string
	Kind    store.TokenKind
	Role    store.Role
}

// CanWrite reports whether the principal may change state through the admin API.
func (p Principal) CanWrite() bool { return p.Kind == store.KindAdmin && p.Role == store.RoleAdmin }

// SystemID is the actor of changes the server makes itself (bootstrap, key generation).
const SystemID = "system"

// System is the principal of changes the server makes itself.
func System() Principal { return Principal{TokenID: SystemID} }

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of a request, if it was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
