package engine

import (
	"fmt"

	"github.com/portcullis/portcullis/shared/policy"
)

// verifierSlot holds the verifier of one name, for every route that names it: a delta that
// replaces the verifier (a secret rotated, a tolerance changed) replaces it here, once.
type verifierSlot struct {
	v      *verifier
	routes int // how many routes name it: a delta cannot remove a verifier in use
}

// compileWebhookChanges checks and compiles the verifiers c puts and checks those it removes,
// changing nothing: Apply's first half for webhooks. A removed verifier must exist and no
// route may name it (a route's binding is policy, which travels only in full snapshots).
func (e *Engine) compileWebhookChanges(c *policy.Changes) ([]*verifier, error) {
	for i, name := range c.RemoveWebhooks {
		switch slot := e.verifiers[name]; {
		case slot == nil:
			return nil, fmt.Errorf("%w: remove_webhooks[%d] (%q) is not in force", ErrDelta, i, name)
		case slot.routes > 0:
			return nil, fmt.Errorf("%w: remove_webhooks[%d] (%q) is named by %d route(s)", ErrDelta, i, name, slot.routes)
		}
	}
	puts := make([]*verifier, len(c.PutWebhooks))
	for i := range c.PutWebhooks {
		v, err := compileVerifier(&c.PutWebhooks[i])
		if err != nil {
			return nil, fmt.Errorf("%w: put_webhooks[%d]: %w", ErrDelta, i, err)
		}
		puts[i] = v
	}
	return puts, nil
}

// applyWebhookChanges is Apply's second half for webhooks; it cannot fail.
func (e *Engine) applyWebhookChanges(c *policy.Changes, puts []*verifier) {
	for _, name := range c.RemoveWebhooks {
		delete(e.verifiers, name)
	}
	for _, v := range puts {
		slot := e.verifiers[v.name]
		if slot == nil {
			e.verifiers[v.name] = &verifierSlot{v: v}
			continue
		}
		if old := slot.v; old.replay != nil && v.replay != nil {
			v.replay = old.replay // deliveries seen before the rotation stay refused
		}
		slot.v = v
	}
}

// CheckChanges reports whether Apply could take c on an engine of this policy, leaving aside
// what depends on the version c applies to (which keys and revocations are in force): every
// key and verifier it puts compiles, and every verifier it removes is unused by the routes.
// The control server checks each delta with it before publishing it.
func (e *Engine) CheckChanges(c *policy.Changes) error {
	for i := range c.PutKeys {
		if _, err := e.compilePut(&c.PutKeys[i]); err != nil {
			return fmt.Errorf("%w: put_keys[%d]: %w", ErrDelta, i, err)
		}
	}
	_, err := e.compileWebhookChanges(c)
	return err
}
