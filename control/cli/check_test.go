package cli

import (
	"strings"
	"testing"
)

// policy check exits 0 clean, 1 on warnings at or above --fail-on, 2 invalid; offline.
func TestPolicyCheck(t *testing.T) {
	h := offline(t)
	clean := h.file("clean.yaml", policyYAML)
	risky := h.file("risky.json", `{"version": 1, "default_action": "allow",
	  "routes": [{"name": "web", "match": {"path_prefix": "/web"}, "auth": {"type": "api_key"}, "cors": {"allowed_origins": ["*"]}}]}`)
	medium := h.file("medium.yaml", "version: 1\nroutes:\n  - name: web\n    match: {path_prefix: /web}\n    auth: {type: api_key}\n    cors: {allowed_origins: ['*']}\n")
	invalid := h.file("invalid.yaml", "version: 2\nroutes:\n  - name: web\n    match: {path_prefix: web}\n    auth: {type: api_key}\n")
	h.steps([]step{
		{name: "clean", args: []string{"policy", "check", clean}, out: []string{"valid, no warnings"}},
		{name: "warnings", args: []string{"policy", "check", risky}, code: ExitFindings,
			out: []string{"ID", "SEVERITY", "PATH", "PC001", "high", "default_action", "PC006", "medium", "routes[0].cors.allowed_origins[0]"}},
		{name: "medium under fail-on high", args: []string{"policy", "check", "--fail-on", "high", medium}, out: []string{"PC006"}},
		{name: "medium at fail-on medium", args: []string{"policy", "check", medium}, code: ExitFindings, out: []string{"PC006"}},
		{name: "fail-on none", args: []string{"policy", "check", "--fail-on", "none", risky}, out: []string{"PC001"}},
		{name: "invalid", args: []string{"policy", "check", invalid}, code: ExitInvalid, out: []string{"invalid: 2 problems", "version: must be 1", "routes[0].match.path_prefix"}},
		{name: "stdin", stdin: `{"version": 1, "default_action": "allow"}`, args: []string{"policy", "check", "-"}, code: ExitFindings, out: []string{"PC001"}},
		{name: "json", args: []string{"policy", "check", "-o", "json", risky}, code: ExitFindings, out: []string{`"valid": true`, `"id": "PC001"`, `"path": "default_action"`}},
		{name: "bad fail-on", args: []string{"policy", "check", "--fail-on", "urgent", clean}, code: ExitUsage},
		{name: "no file", args: []string{"policy", "check"}, code: ExitUsage},
	})
}

// --server asks GET /v1/checks.
func TestPolicyCheckServer(t *testing.T) {
	h := newHarness(t)
	h.steps([]step{
		{name: "fresh", args: []string{"policy", "check", "--server"}, out: []string{"valid, no warnings"}},
		{name: "key", args: []string{"keys", "create", "--name", "forever"}},
	})
	h.waitPublished()
	h.steps([]step{
		{name: "low warning passes medium", args: []string{"policy", "check", "--server"}, out: []string{"PC004", "keys[0].expires_at"}},
		{name: "fails at low", args: []string{"policy", "check", "--server", "--fail-on", "low", "-o", "json"}, code: ExitFindings, out: []string{`"snapshot_version"`, `"PC004"`}},
		{name: "file and server", args: []string{"policy", "check", "--server", "x.yaml"}, code: ExitUsage},
	})
}

func TestConfig(t *testing.T) {
	h := newHarness(t)
	addr := h.env["PORTCULLIS_ADDR"]
	tokenFile := h.file("token", testAdminToken+"\n")
	h.env = map[string]string{}
	h.steps([]step{
		{name: "no token", args: []string{"keys", "list"}, code: ExitUsage, errOut: []string{"no admin token"}},
		{name: "token file and addr flag", args: []string{"--addr", addr, "--token-file", tokenFile, "keys", "list"}, out: []string{"ID"}},
		{name: "default addr unreachable", args: []string{"--addr", "http://127.0.0.1:1", "--token-file", tokenFile, "keys", "list"}, code: ExitAPI},
		{name: "addr without scheme", args: []string{"--addr", "localhost:8081", "--token-file", tokenFile, "keys", "list"}, code: ExitUsage},
	})
	open := h.file("open-token", testAdminToken)
	chmod(t, open, 0o644)
	h.env["PORTCULLIS_TOKEN"] = "pca_wrong_token_never_printed_00"
	h.secrets = append(h.secrets, h.env["PORTCULLIS_TOKEN"])
	h.steps([]step{{name: "wrong token", args: []string{"--addr", addr, "keys", "list"}, code: ExitAPI, errOut: []string{"401", "unauthorized"}}})
	delete(h.env, "PORTCULLIS_TOKEN")
	h.steps([]step{{name: "readable token file", args: []string{"--addr", addr, "--token-file", open, "keys", "list"}, code: ExitUsage, errOut: []string{"chmod 600"}}})

	cfg := h.file("config", "addr: "+addr+"\ntoken: "+testAdminToken+"\n")
	h.steps([]step{{name: "config file", args: []string{"--config", cfg, "keys", "list"}, out: []string{"ID"}}})
	chmod(t, cfg, 0o640)
	h.steps([]step{{name: "config readable by group", args: []string{"--config", cfg, "keys", "list"}, code: ExitUsage, errOut: []string{"mode 0640"}}})
	viaFile := h.file("config2", "addr: "+addr+"\ntoken_file: "+tokenFile+"\n")
	chmod(t, viaFile, 0o644) // holds no token itself
	h.steps([]step{
		{name: "config naming a token file", args: []string{"--config", viaFile, "keys", "list"}, out: []string{"ID"}},
		{name: "unknown config field", args: []string{"--config", h.file("config3", "adress: x\n"), "keys", "list"}, code: ExitUsage, errOut: []string{"adress"}},
		{name: "missing config", args: []string{"--config", h.dir + "/none", "keys", "list"}, code: ExitUsage},
	})
	// The environment wins over the config file; flags win over both.
	h.env = map[string]string{"PORTCULLIS_ADDR": "http://127.0.0.1:1", "PORTCULLIS_TOKEN": testAdminToken}
	h.steps([]step{
		{name: "env addr", args: []string{"--config", viaFile, "keys", "list"}, code: ExitAPI},
		{name: "flag beats env", args: []string{"--addr", addr, "keys", "list"}, out: []string{"ID"}},
	})
	h.env["XDG_CONFIG_HOME"] = h.dir
	if got := (&app{env: Env{Getenv: func(k string) string { return h.env[k] }}}).configPath(); !strings.HasSuffix(got, "/portcullis/config") || !strings.HasPrefix(got, h.dir) {
		t.Fatalf("config path %q", got)
	}
}
