package stack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// TestKeyTier: a key created through the control API with tier "gold" gets gold's limit in the
// compiled filter, across every worker VM, and a key without a tier gets the default tier's.
// Both tiers refill one token an hour, so the counts are exact: the bucket of each key lives in
// shared data, so the four VMs together let through exactly the tier's burst. /ready/ is exempt
// from the tier limits so that waiting for the keys to reach every VM takes no tokens.
func TestKeyTier(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := start(t, st.cfg(t), func(c *stack.Config) {
				c.Control.InitialPolicy = []byte(`{"version": 1,
					"rate_limit_tiers": [
						{"name": "default", "limits": [{"by": "api_key", "rate": 1, "per": "hour", "burst": 2, "exempt": {"path_prefixes": ["/ready/"]}}]},
						{"name": "gold", "limits": [{"by": "api_key", "rate": 1, "per": "hour", "burst": 7, "exempt": {"path_prefixes": ["/ready/"]}}]}],
					"routes": [{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`)
			})
			ctx := context.Background()
			gold, _, err := e.api.CreateKey(ctx, stack.NewKey{Name: "gold customer", Tier: "gold"})
			if err != nil {
				t.Fatal(err)
			}
			if gold.Tier != "gold" {
				t.Fatalf("created key shows tier %q", gold.Tier)
			}
			plain := e.createKey(t, "plain customer")
			// Snapshots apply in order, so once the later key passes on every VM, both are there.
			e.waitPathStatus(t, "/ready/x", plain.Key, http.StatusOK, time.Now(), publishLimit)

			for _, tc := range []struct {
				name, key string
				burst     int
			}{{"gold", gold.Key, 7}, {"default", plain.Key, 2}} {
				allowed, refused := 0, 0
				for range 3 * 7 {
					status, h, body := e.request(t, "/anything", tc.key)
					switch {
					case status == http.StatusOK:
						allowed++
					case status == http.StatusTooManyRequests && body["code"] == "rate_limited" && h.Get("Retry-After") != "":
						refused++
					default:
						t.Fatalf("%s key: %d %v %v", tc.name, status, h, body)
					}
				}
				if allowed != tc.burst || refused != 3*7-tc.burst {
					t.Errorf("%s key: %d allowed, %d refused of %d; want exactly the tier's burst %d allowed",
						tc.name, allowed, refused, 3*7, tc.burst)
				}
			}
		})
	}
}
