package gateway

import (
	"fmt"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// DefaultMaxPolicyAge is PolicyFresh's default bound. A healthy filter's policy age climbs
// up to the control server's long-poll wait (at most 60 s) before the "not modified" answer
// resets it, so the bound must stay above the wait plus a few seconds.
const DefaultMaxPolicyAge = 90 * time.Second

// PolicyFresh is the Portcullis filter's readiness: every worker has a policy
// (portcullis_workers_without_policy is 0) and the policy in force was confirmed by the
// control server at most maxAge ago (portcullis_policy_age_seconds; 0 means
// DefaultMaxPolicyAge), and the filter does not report it stale (portcullis_policy_stale: no
// signed freshness statement within its window). A filter that cannot refresh its policy — control server gone, its
// data-plane token revoked — keeps enforcing the last one, and this check is how it shows.
// A module without these metrics passes.
func PolicyFresh(maxAge time.Duration) Check {
	if maxAge <= 0 {
		maxAge = DefaultMaxPolicyAge
	}
	return func(h *wasmhost.Host) string {
		if m, ok := h.Metric("portcullis_workers_without_policy"); ok && m.Value > 0 {
			return fmt.Sprintf("%d filter workers have no policy yet (their requests get 503 policy_unavailable)", m.Value)
		}
		if m, ok := h.Metric("portcullis_policy_stale"); ok && m.Value > 0 {
			return "the policy in force is stale: no answer with a valid freshness statement within the filter's freshness window (control.freshness_window_seconds); it is still enforced"
		}
		if m, ok := h.Metric("portcullis_policy_age_seconds"); ok && time.Duration(m.Value)*time.Second > maxAge {
			return fmt.Sprintf("the policy in force was last confirmed by the control server %ds ago, more than the %v allowed: the filter cannot refresh it (its log says why)",
				m.Value, maxAge)
		}
		return ""
	}
}
