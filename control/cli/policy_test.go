package cli

import (
	"net/http"
	"strings"
	"testing"
)

const policyYAML = `# routes as an operator keeps them in version control
version: 1
default_action: deny
routes:
  - name: health
    match: {path_prefix: /healthz}
    auth: {type: none}
  - name: api
    match: {path_prefix: /api, methods: [GET, POST]}
    auth: {type: api_key}
`

// policy apply is declarative: diff, dry run, apply with If-Match, nothing to do the second
// time; an invalid file or a concurrent change applies nothing.
func TestPolicyApply(t *testing.T) {
	h := newHarness(t)
	file := h.file("policy.yaml", policyYAML)
	bad := h.file("bad.yaml", "version: 1\nroutes:\n  - name: api\n    match: {path_prefix: api}\n    auth: {type: api_key}\n  - name: api\n    match: {path_prefix: /x}\n    auth: {type: nope}\n")
	withKeys := h.file("keys.json", `{"version": 1, "keys": []}`)
	dup := h.file("dup.json", `{"version": 1, "version": 1}`)
	json2 := h.file("p2.json", `{"version": 1, "routes": [{"name": "api", "match": {"path_prefix": "/api"}, "auth": {"type": "api_key"}}]}`)
	h.steps([]step{
		{name: "diff before", args: []string{"policy", "diff", "-f", file}, code: ExitFindings,
			out: []string{`--- server (ETag "1")`, "+++ " + file, `+      "name": "health"`, `+        "path_prefix": "/api"`}},
		{name: "dry run", args: []string{"policy", "apply", "-f", file, "--dry-run"}, out: []string{`+      "name": "health"`}, errOut: []string{"dry run: valid; nothing applied"}},
		{name: "dry run applied nothing", args: []string{"policy", "get"}, notOut: []string{"health"}, errOut: []string{`etag: "1"`}},
		{name: "apply", args: []string{"policy", "apply", "-f", file}, out: []string{`+      "name": "health"`}, errOut: []string{`applied: ETag "1" -> "`, "snapshot version"}},
		{name: "no diff after", args: []string{"policy", "diff", "-f", file}, errOut: []string{"no differences"}},
		{name: "apply again", args: []string{"policy", "apply", "-f", file}, errOut: []string{"policy unchanged"}},
		{name: "get yaml", args: []string{"policy", "get", "-o", "yaml"}, out: []string{"default_action: deny", "name: health"}},
		{name: "invalid", args: []string{"policy", "apply", "-f", bad}, code: ExitInvalid,
			errOut: []string{"routes[0].match.path_prefix: must start with '/'", "routes[1].name", "routes[1].auth.type", "nothing applied"}},
		{name: "keys refused", args: []string{"policy", "diff", "-f", withKeys}, code: ExitInvalid, errOut: []string{"keys: must not be set here"}},
		{name: "duplicate JSON key", args: []string{"policy", "apply", "-f", dup}, code: ExitInvalid, errOut: []string{"version"}},
		{name: "missing file", args: []string{"policy", "apply", "-f", h.dir + "/nope.yaml"}, code: ExitUsage},
		{name: "no file", args: []string{"policy", "apply"}, code: ExitUsage},
		{name: "JSON from stdin", stdin: `{"version": 1, "routes": [{"name": "api", "match": {"path_prefix": "/api"}, "auth": {"type": "api_key"}}]}`,
			args: []string{"policy", "apply", "-f", "-"}, out: []string{`-      "name": "health"`}, errOut: []string{"applied"}},
	})
	// Someone else changes the policy between apply's read and its write: the server refuses
	// the write (If-Match), the CLI says so, and the other change stays.
	h.afterPlan = func() {
		req, _ := http.NewRequest("PUT", h.env["PORTCULLIS_ADDR"]+"/v1/policy", strings.NewReader(`{"version": 1, "routes": [{"name": "theirs", "match": {"path_prefix": "/theirs"}, "auth": {"type": "api_key"}}]}`))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		req.Header.Set("If-Match", "*")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("concurrent PUT: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	h.steps([]step{
		{name: "concurrent change", args: []string{"policy", "apply", "-f", file}, code: ExitConflict, errOut: []string{"changed on the server", "nothing applied"}},
		{name: "theirs kept", args: []string{"policy", "get"}, out: []string{"theirs"}, notOut: []string{"health"}},
		{name: "json file", args: []string{"policy", "apply", "-f", json2}, errOut: []string{"applied"}},
	})
}

// A route may bind a verifier that exists on the server; apply validates it against the
// server's verifiers, not the file alone.
func TestPolicyApplyWebhookRoute(t *testing.T) {
	h := newHarness(t)
	secret := h.file("secret", "0123456789abcdef0123")
	file := h.file("p.yaml", "version: 1\nroutes:\n  - name: hooks\n    match: {path_prefix: /hooks}\n    auth: {type: webhook, webhook: gh}\n")
	h.steps([]step{
		{name: "unknown verifier", args: []string{"policy", "apply", "-f", file}, code: ExitInvalid, errOut: []string{`routes[0].auth.webhook: names no verifier in webhooks: "gh"`}},
		{name: "create verifier", args: []string{"webhooks", "create", "gh", "--preset", "github", "--secret-file", secret}},
		{name: "apply", args: []string{"policy", "apply", "-f", file}, errOut: []string{"applied"}, notOut: []string{"portcullis-cli-local", "0123456789abcdef0123"}},
		{name: "no diff", args: []string{"policy", "diff", "-f", file}, errOut: []string{"no differences"}},
		{name: "webhooks section refused", args: []string{"policy", "diff", "-f", h.file("w.yaml", "version: 1\nwebhooks: []\n")}, code: ExitInvalid, errOut: []string{"webhooks: must not be set here"}},
	})
}

func TestEvaluate(t *testing.T) {
	h := newHarness(t)
	h.steps([]step{
		{name: "apply", args: []string{"policy", "apply", "-f", h.file("p.yaml", policyYAML)}, errOut: []string{"applied"}},
		{name: "key", args: []string{"keys", "create", "--name", "ci"}, capture: map[string]string{"key": `(?m)^key: (pcs_\S+)`, "id": `(?m)^id:\s+(key_\S+)`}},
	})
	h.waitPublished()
	keyFile := h.file("key", h.vars["key"]+"\n")
	h.steps([]step{
		{name: "allowed", args: []string{"evaluate", "--path", "/api/items", "--key-file", keyFile}, out: []string{"decision:", "ALLOW", "route:", "api", "{id}"}, notOut: []string{"{key}"}},
		{name: "key from stdin", stdin: h.vars["key"], args: []string{"evaluate", "-X", "post", "--path", "/api/items", "--key-file", "-"}, out: []string{"ALLOW"}},
		{name: "no key", args: []string{"evaluate", "--path", "/api/items"}, code: ExitFindings, out: []string{"DENY 401", "check:", "auth", "response header: www-authenticate"}},
		{name: "method not routed", args: []string{"evaluate", "-X", "DELETE", "--path", "/api/items", "--key-file", keyFile}, code: ExitFindings, out: []string{"DENY 403 no_route"}},
		{name: "public", args: []string{"evaluate", "--path", "/healthz", "-H", "X-Trace: 1", "-H", "x-trace: 2", "--client-address", "192.0.2.1:5000"}, out: []string{"ALLOW", "health"}},
		{name: "json", args: []string{"evaluate", "--path", "/healthz", "-o", "json"}, out: []string{`"allow": true`, `"snapshot_version"`}},
		{name: "no path", args: []string{"evaluate"}, code: ExitUsage},
		{name: "bad header", args: []string{"evaluate", "--path", "/", "-H", "nocolon"}, code: ExitUsage},
	})
}
