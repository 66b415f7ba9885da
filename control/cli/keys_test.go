package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// Keys end to end against a real server: the key is printed once, at creation, and never again.
func TestKeys(t *testing.T) {
	h := newHarness(t)
	h.steps([]step{
		{name: "create", args: []string{"keys", "create", "--name", "ci-builds", "--permission", "builds:write", "--allowed-path", "/api/builds", "--expires", "90d"},
			out: []string{"name:", "ci-builds", "permissions:", "builds:write", "status:", "active", "\nkey: pcs_"}, errOut: []string{"shown only now"},
			capture: map[string]string{"id": `(?m)^id:\s+(key_\S+)`, "key": `(?m)^key: (pcs_\S+)`}},
	})
	// From here on the key is never printed again, whatever the command.
	h.secrets = append(h.secrets, h.vars["key"])
	h.steps([]step{
		{name: "create json", args: []string{"keys", "create", "--name", "other", "-o", "json"}, out: []string{`"key": "pcs_`, `"status": "active"`, `"expires_at": null`}},
		{name: "list", args: []string{"keys", "list"}, out: []string{"ID", "NAME", "STATUS", "{id}", "ci-builds", "other"}, notOut: []string{"{key}"}},
		{name: "list by name", args: []string{"keys", "list", "--name", "CI-B"}, out: []string{"{id}"}, notOut: []string{"other"}},
		{name: "suspend", args: []string{"keys", "update", "{id}", "--active=false"}, out: []string{"inactive"}, notOut: []string{"{key}"}},
		{name: "list inactive", args: []string{"keys", "list", "--status", "inactive"}, out: []string{"{id}"}, notOut: []string{"other"}},
		{name: "list active", args: []string{"keys", "list", "--status", "active"}, out: []string{"other"}, notOut: []string{"{id}"}},
		{name: "get json", args: []string{"keys", "get", "{id}", "-o", "json"}, out: []string{`"status": "inactive"`, `"masked_key": "pcs_`}, notOut: []string{`"key":`, "{key}"}},
		{name: "no expiry", args: []string{"keys", "update", "{id}", "--no-expiry", "-o", "json"}, out: []string{`"expires_at": null`}},
		{name: "revoke", args: []string{"keys", "revoke", "{id}"}, out: []string{"revoked"}, notOut: []string{"{key}"}},
		{name: "change revoked", args: []string{"keys", "update", "{id}", "--name", "x"}, code: ExitAPI, errOut: []string{"409", "key_revoked"}},
		{name: "unknown key", args: []string{"keys", "get", "key_nope"}, code: ExitAPI, errOut: []string{"404", "not_found"}},
		{name: "invalid field", args: []string{"keys", "create", "--name", "x", "--allowed-path", "api"}, code: ExitInvalid, errOut: []string{"allowed_paths[0]"}},
		{name: "no name", args: []string{"keys", "create"}, code: ExitUsage, errOut: []string{"--name is required"}},
		{name: "bad status", args: []string{"keys", "list", "--status", "gone"}, code: ExitUsage},
		{name: "nothing to change", args: []string{"keys", "update", "{id}"}, code: ExitUsage, errOut: []string{"nothing to change"}},
		{name: "bad expiry", args: []string{"keys", "create", "--name", "x", "--expires", "soon"}, code: ExitUsage},
		{name: "unknown flag", args: []string{"keys", "list", "--bogus"}, code: ExitUsage},
		{name: "bad output", args: []string{"keys", "list", "-o", "xml"}, code: ExitUsage},
	})
	// The audit log shows the changes, and never the key.
	code, out, _ := h.run("", "audit", "--limit", "10")
	if code != 0 || !strings.Contains(out, "key.create") || !strings.Contains(out, "key.revoke") || strings.Contains(out, h.vars["key"]) {
		t.Fatalf("audit: %d\n%s", code, out)
	}
	code, out, _ = h.run("", "audit", "-o", "json", "--limit", "1")
	if m := jsonOut(t, out); code != 0 || len(m["entries"].([]any)) != 1 || strings.Contains(out, h.vars["key"]) {
		t.Fatalf("audit json: %d\n%s", code, out)
	}
}

func TestTokens(t *testing.T) {
	h := newHarness(t)
	h.steps([]step{
		{name: "create read-only", args: []string{"tokens", "create", "--name", "grafana", "--role", "read-only"},
			out: []string{"read-only", "\ntoken: pca_"}, capture: map[string]string{"id": `(?m)^id:\s+(adm_\S+)`, "tok": `(?m)^token: (pca_\S+)`}},
		{name: "create dataplane", args: []string{"tokens", "create", "--kind", "dataplane", "--name", "envoy-eu"}, out: []string{"dataplane", "\ntoken: pcd_"}},
		{name: "list", args: []string{"tokens", "list"}, out: []string{"grafana", "envoy-eu", "adm_bootstrap", "read-only"}, notOut: []string{"{tok}"}},
		{name: "list dataplane", args: []string{"tokens", "list", "--kind", "dataplane"}, out: []string{"envoy-eu"}, notOut: []string{"grafana"}},
		{name: "role on dataplane", args: []string{"tokens", "create", "--kind", "dataplane", "--name", "x", "--role", "admin"}, code: ExitUsage},
		{name: "bad kind", args: []string{"tokens", "list", "--kind", "root"}, code: ExitUsage},
	})
	// The read-only token reads but cannot write.
	h.env["PORTCULLIS_TOKEN"] = h.vars["tok"]
	h.steps([]step{
		{name: "read-only lists", args: []string{"keys", "list"}, out: []string{"ID"}},
		{name: "read-only writes", args: []string{"keys", "create", "--name", "x"}, code: ExitAPI, errOut: []string{"403", "forbidden"}},
	})
	h.env["PORTCULLIS_TOKEN"] = testAdminToken
	h.steps([]step{
		{name: "revoke", args: []string{"tokens", "revoke", "{id}"}, out: []string{"revoked_at:"}},
		{name: "not a token id", args: []string{"tokens", "revoke", "key_x"}, code: ExitUsage},
	})
	h.env["PORTCULLIS_TOKEN"] = h.vars["tok"]
	h.steps([]step{{name: "revoked token", args: []string{"keys", "list"}, code: ExitAPI, errOut: []string{"401", "unauthorized"}}})
}

func TestWebhooksAndRevocations(t *testing.T) {
	h := newHarness(t)
	secret := h.file("secret", "0123456789abcdef0123\n")
	next := h.file("next", "fedcba9876543210fedc\n")
	h.secrets = append(h.secrets, "0123456789abcdef0123", "fedcba9876543210fedc")
	h.steps([]step{
		{name: "create with secret", args: []string{"webhooks", "create", "gh", "--preset", "github", "--secret-file", secret},
			out: []string{"preset:", "github", "****0123"}, notOut: []string{"0123456789abcdef0123"}},
		{name: "create generated", args: []string{"webhooks", "create", "stripe", "--preset", "stripe"},
			out: []string{"\nsecret: "}, errOut: []string{"shown only now"}, capture: map[string]string{"gen": `(?m)^secret: (\S+)`}},
		{name: "list", args: []string{"webhooks", "list"}, out: []string{"gh", "stripe", "NEXT SECRET"}, notOut: []string{"{gen}", "0123456789abcdef0123"}},
		{name: "stage next from stdin", stdin: "fedcba9876543210fedc\n", args: []string{"webhooks", "update", "gh", "--next-secret-file", "-"}, out: []string{"****fedc"}},
		{name: "rotate", args: []string{"webhooks", "rotate", "gh", "--next-secret-file", next}, out: []string{"masked_secret:", "****fedc"}},
		{name: "clear next", args: []string{"webhooks", "update", "gh", "--clear-next-secret", "-o", "json"}, out: []string{`"masked_next_secret": null`}},
		{name: "get", args: []string{"webhooks", "get", "stripe"}, notOut: []string{"{gen}"}},
		{name: "delete", args: []string{"webhooks", "delete", "stripe"}, errOut: []string{"deleted stripe"}},
		{name: "get deleted", args: []string{"webhooks", "get", "stripe"}, code: ExitAPI, errOut: []string{"not_found"}},

		{name: "revoke jti", args: []string{"revocations", "create", "jti-123", "--expires", "24h"}, out: []string{"jti-123"}},
		{name: "list revocations", args: []string{"revocations", "list"}, out: []string{"JTI", "jti-123"}},
		{name: "revoke twice", args: []string{"revocations", "create", "jti-123", "--expires", "24h"}, code: ExitAPI, errOut: []string{"409"}},
		{name: "lift", args: []string{"revocations", "delete", "jti-123"}},
		{name: "list empty", args: []string{"revocations", "list"}, notOut: []string{"jti-123"}},
		{name: "no expiry", args: []string{"revocations", "create", "x"}, code: ExitUsage},
		{name: "jwks status", args: []string{"jwks", "status"}, out: []string{"URI", "OK", "KEYS"}},
		{name: "jwks refresh", args: []string{"jwks", "refresh", "-o", "json"}, out: []string{`"key_sets": []`}},
	})
}

// Keys from another system, by hash: all or nothing, refusals by line; and the tier flag
// reaches the server's validation.
func TestKeysImport(t *testing.T) {
	h := newHarness(t)
	sum := func(raw string) string { s := sha256.Sum256([]byte(raw)); return hex.EncodeToString(s[:]) }
	good := h.file("good.jsonl", `{"id": "key_legacy_1", "name": "acme", "sha256": "`+sum("legacy-one")+`", "permissions": ["read"]}
{"name": "globex", "sha256": "`+sum("legacy-two")+`", "allowed_paths": ["/api"]}
`)
	bad := h.file("bad.jsonl", `{"name": "initech", "sha256": "`+sum("legacy-three")+`"}
{"name": "short", "sha256": "abc"}
`)
	h.steps([]step{
		{name: "refused whole", args: []string{"keys", "import", "-f", bad}, code: ExitInvalid, errOut: []string{"line[2].sha256"}},
		{name: "nothing stored", args: []string{"keys", "list"}, notOut: []string{"initech"}},
		{name: "import", args: []string{"keys", "import", "-f", good}, out: []string{"imported:", "2", "snapshot_version:"}},
		{name: "listed", args: []string{"keys", "list"}, out: []string{"key_legacy_1", "acme", "globex"}},
		{name: "again: conflicts", args: []string{"keys", "import", "-f", good}, code: ExitInvalid, errOut: []string{"line[1]"}},
		{name: "from stdin", stdin: `{"name": "hooli", "sha256": "` + sum("legacy-four") + `"}`, args: []string{"keys", "import", "-f", "-", "-o", "json"}, out: []string{`"imported": 1`}},
		{name: "no file", args: []string{"keys", "import"}, code: ExitUsage},
		{name: "unknown tier", args: []string{"keys", "create", "--name", "x", "--tier", "gold"}, code: ExitInvalid, errOut: []string{"tier"}},
	})
}
