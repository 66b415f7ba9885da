package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
)

func TestAuditLog(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		k, rawKey := e.createKey(map[string]any{"name": "ci"})
		id := k["id"].(string)
		expect(t, e.do("PATCH", "/v1/keys/"+id, adminToken, `{"name":"ci-2","staff":true}`), http.StatusOK, "")
		expect(t, e.do("DELETE", "/v1/keys/"+id, adminToken, nil), http.StatusOK, "")
		tok := expect(t, e.do("POST", "/v1/dataplane-tokens", adminToken, `{"name":"edge"}`), http.StatusCreated, "")
		rawTok := tok["token"].(string)
		expect(t, e.do("PUT", "/v1/policy", adminToken, `{"version":1,"default_action":"allow"}`, "If-Match", "*"), http.StatusOK, "")

		r := e.do("GET", "/v1/audit", e.readOnly, nil)
		for _, secret := range []string{rawKey, auth.Hash(rawKey), rawTok, auth.Hash(rawTok), adminToken, auth.Hash(adminToken)} {
			if strings.Contains(string(r.body), secret) {
				t.Fatalf("the audit log contains a secret or its hash: %s", r.body)
			}
		}
		entries := expect(t, r, http.StatusOK, "")["entries"].([]any)
		want := []struct{ action, target string }{
			{"policy.replace", "policy"}, {"dataplane_token.create", tok["id"].(string)},
			{"key.revoke", id}, {"key.update", id}, {"key.create", id},
		}
		for i, w := range want {
			e := entries[i].(map[string]any)
			if e["action"] != w.action || e["target"] != w.target || e["actor"] != admin.BootstrapAdminID || e["at"] != "2030-01-02T03:04:05Z" {
				t.Fatalf("entry %d = %v, want %s on %s by %s", i, e, w.action, w.target, admin.BootstrapAdminID)
			}
		}
		update := entries[3].(map[string]any)
		before, after := update["before"].(map[string]any), update["after"].(map[string]any)
		if before["staff"] != false || after["staff"] != true || before["admin"] != false || after["admin"] != false {
			t.Fatalf("update entry does not record the flags: %v", update)
		}
		if update["before"].(map[string]any)["name"] != "ci" || update["after"].(map[string]any)["name"] != "ci-2" ||
			update["after"].(map[string]any)["masked_key"] != rawKey[:8]+"***" || update["version"] == nil {
			t.Fatalf("update entry = %v", update)
		}
		if c := entries[4].(map[string]any); c["before"] != nil || c["after"] == nil {
			t.Fatalf("create entry = %v", c)
		}
		if p := entries[0].(map[string]any); p["after"].(map[string]any)["default_action"] != "allow" || p["before"].(map[string]any)["default_action"] != "deny" {
			t.Fatalf("policy entry = %v", p)
		}
		if tokEntry := entries[1].(map[string]any); tokEntry["version"] != nil {
			t.Fatalf("a token change claims a snapshot version: %v", tokEntry)
		}

		// Paging: newest first, no entry twice, the end has no cursor.
		seen := map[float64]bool{}
		cursor, pages := "", 0
		for {
			path := "/v1/audit?limit=3"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			m := expect(t, e.do("GET", path, adminToken, nil), http.StatusOK, "")
			pages++
			last := 1e18
			for _, x := range m["entries"].([]any) {
				id := x.(map[string]any)["id"].(float64)
				if seen[id] || id >= last {
					t.Fatalf("entry %v repeated or out of order", id)
				}
				seen[id], last = true, id
			}
			if m["next_cursor"] == nil {
				break
			}
			cursor = m["next_cursor"].(string)
		}
		if len(seen) != len(entries) || pages < 3 {
			t.Fatalf("paged %d entries in %d pages, want %d", len(seen), pages, len(entries))
		}
		expect(t, e.do("GET", "/v1/audit?cursor=x", adminToken, nil), http.StatusBadRequest, "invalid_parameter")
	})
}
