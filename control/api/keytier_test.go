package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// tieredPolicy has a default and a gold tier; the route counts every key against its tier.
const tieredPolicy = `{"version":1,
  "rate_limit_tiers":[
    {"name":"default","limits":[{"by":"api_key","rate":2,"per":"hour"}]},
    {"name":"gold","limits":[{"by":"api_key","rate":50,"per":"hour","burst":10}]}],
  "routes":[{"name":"api","match":{"path_prefix":"/"},"auth":{"type":"api_key"}}]}`

// A key's rate-limit tier through the API: set on create and update, shown by get and list,
// checked against the policy's tiers, published in the snapshot, shown by a dry run, and kept
// by a policy update only while keys name it.
func TestKeyTier(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		r := e.do("PUT", "/v1/policy", adminToken, tieredPolicy, "If-Match", "*")
		expect(t, r, http.StatusOK, "")

		gold, goldRaw := e.createKey(map[string]any{"name": "g", "tier": "gold"})
		plain, plainRaw := e.createKey(map[string]any{"name": "p"})
		if gold["tier"] != "gold" || plain["tier"] != "" {
			t.Fatalf("created keys show tier %q and %q", gold["tier"], plain["tier"])
		}
		if got := expect(t, e.do("GET", "/v1/keys/"+gold["id"].(string), e.readOnly, nil), http.StatusOK, ""); got["tier"] != "gold" {
			t.Fatalf("GET shows tier %v", got["tier"])
		}
		list := expect(t, e.do("GET", "/v1/keys", e.readOnly, nil), http.StatusOK, "")
		if ks := list["keys"].([]any); len(ks) != 2 || ks[0].(map[string]any)["tier"] != "gold" || ks[1].(map[string]any)["tier"] != "" {
			t.Fatalf("list shows %v", ks)
		}

		// The snapshot carries the tier, and a dry run counts each key against its own tier.
		tiers := map[string]string{}
		for _, k := range e.snapshotNow().Policy.Keys {
			tiers[k.ID] = k.Tier
		}
		if tiers[gold["id"].(string)] != "gold" || tiers[plain["id"].(string)] != "" {
			t.Fatalf("snapshot tiers %v", tiers)
		}
		for _, tc := range []struct {
			key, name string
			limit     float64
		}{{goldRaw, "gold/api_key/hour", 10}, {plainRaw, "default/api_key/hour", 2}} {
			got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, map[string]any{"method": "GET", "path": "/x",
				"headers": map[string]string{"x-api-key": tc.key}}), http.StatusOK, "")
			views, _ := got["rate_limits"].([]any)
			if got["allow"] != true || len(views) != 1 || views[0].(map[string]any)["name"] != tc.name ||
				views[0].(map[string]any)["limit"] != tc.limit {
				t.Fatalf("evaluate for %s: %v", tc.name, got)
			}
		}

		// Unknown tiers are refused with the field and the tiers that exist; nothing is stored.
		for _, tc := range []struct {
			method, path string
			body         map[string]any
		}{
			{"POST", "/v1/keys", map[string]any{"name": "x", "tier": "platinum"}},
			{"POST", "/v1/keys", map[string]any{"name": "x", "tier": "platinum", "allowed_paths": "nope"}},
			{"PATCH", "/v1/keys/" + plain["id"].(string), map[string]any{"tier": "platinum"}},
			{"POST", "/v1/keys", map[string]any{"name": "x", "tier": 7}},
		} {
			r := e.do(tc.method, tc.path, adminToken, tc.body)
			m := expect(t, r, http.StatusUnprocessableEntity, "invalid_request")
			if !strings.Contains(strings.Join(detailFields(m), ","), "tier") {
				t.Errorf("%s %s %v: details %s", tc.method, tc.path, tc.body, r.body)
			}
			if tc.body["tier"] == "platinum" && !strings.Contains(string(r.body), "default, gold") {
				t.Errorf("%s %s: the error should list the tiers: %s", tc.method, tc.path, r.body)
			}
		}
		if ks := expect(t, e.do("GET", "/v1/keys", e.readOnly, nil), http.StatusOK, "")["keys"].([]any); len(ks) != 2 {
			t.Fatalf("%d keys after refused creates", len(ks))
		}

		// A policy update that drops gold is refused while a key names it, listing the key.
		noGold := strings.Replace(tieredPolicy, `,
    {"name":"gold","limits":[{"by":"api_key","rate":50,"per":"hour","burst":10}]}`, "", 1)
		r = e.do("PUT", "/v1/policy", adminToken, noGold, "If-Match", "*")
		m := expect(t, r, http.StatusConflict, "tier_in_use")
		if ds, _ := json.Marshal(m["details"]); !strings.Contains(string(ds), gold["id"].(string)) || !strings.Contains(string(ds), `\"gold\" is still named by 1 keys`) {
			t.Fatalf("tier_in_use details %s", ds)
		}
		if got := e.snapshotNow().Policy.RateLimitTiers; len(got) != 2 {
			t.Fatalf("refused update changed the tiers: %v", got)
		}

		// Moving the key back to the default tier (null) lets the update through.
		r = e.do("PATCH", "/v1/keys/"+gold["id"].(string), adminToken, map[string]any{"tier": nil})
		if got := expect(t, r, http.StatusOK, ""); got["tier"] != "" || versionHeader(t, r) == 0 {
			t.Fatalf("PATCH tier null: %v", got)
		}
		r = e.do("PUT", "/v1/policy", adminToken, noGold, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		e.waitVersion(versionHeader(t, r))
		if got := e.snapshotNow().Policy.RateLimitTiers; len(got) != 1 || got[0].Name != "default" {
			t.Fatalf("tiers after the update: %v", got)
		}
	})
}
