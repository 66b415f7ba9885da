package api_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/store"
)

const (
	hookSecret = "github-webhook-secret-0001"
	hookNext   = "github-webhook-secret-0002"
	hookThird  = "github-webhook-secret-0003"
)

// hookRoute is a policy with one route bound to the verifier "gh".
const hookRoute = `{"version":1,"routes":[{"name":"gh-hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"gh"}}]}`

// noSecretIn fails if any of the secrets appears in b.
func noSecretIn(t *testing.T, what string, b []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("%s contains a secret (%s…): %.300s", what, s[:6], b)
		}
	}
}

func TestWebhookCRUD(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		all := []string{hookSecret, hookNext, hookThird}

		r := e.do("POST", "/v1/webhooks", adminToken, map[string]any{"name": "gh", "preset": "github", "secret": hookSecret})
		created := expect(t, r, http.StatusCreated, "")
		noSecretIn(t, "the create response", r.body, all...)
		if created["masked_secret"] != "****0001" || created["masked_next_secret"] != nil || r.header.Get("Location") != "/v1/webhooks/gh" {
			t.Fatalf("created = %s (Location %q)", r.body, r.header.Get("Location"))
		}
		e.waitVersion(versionHeader(t, r))
		if snap := e.snapshotNow(); len(snap.Policy.Webhooks) != 1 || snap.Policy.Webhooks[0].Secret != hookSecret {
			t.Fatalf("the snapshot does not carry the verifier: %+v", snap.Policy.Webhooks)
		}

		for _, tc := range []struct {
			name   string
			method string
			path   string
			body   any
			status int
			code   string
			field  string
		}{
			{"duplicate name", "POST", "/v1/webhooks", map[string]any{"name": "gh", "preset": "github", "secret": hookSecret}, 409, "conflict", ""},
			{"unknown preset", "POST", "/v1/webhooks", map[string]any{"name": "x", "preset": "nope", "secret": hookSecret}, 422, "invalid_request", "preset"},
			{"short secret", "POST", "/v1/webhooks", map[string]any{"name": "x", "preset": "github", "secret": "short"}, 422, "invalid_request", "secret"},
			{"no name", "POST", "/v1/webhooks", map[string]any{"preset": "github"}, 422, "invalid_request", "name"},
			{"unknown field", "POST", "/v1/webhooks", map[string]any{"name": "x", "preset": "github", "secrets": "x"}, 422, "invalid_request", "secrets"},
			{"unknown verifier", "GET", "/v1/webhooks/nope", nil, 404, "not_found", ""},
			{"rename", "PATCH", "/v1/webhooks/gh", map[string]any{"name": "other"}, 422, "invalid_request", "name"},
			{"empty patch", "PATCH", "/v1/webhooks/gh", map[string]any{}, 422, "invalid_request", ""},
			{"rotate without next", "POST", "/v1/webhooks/gh/rotate", nil, 409, "no_next_secret", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.method, tc.path, adminToken, tc.body)
				m := expect(t, r, tc.status, tc.code)
				if tc.field != "" && !strings.Contains(strings.Join(detailFields(m), ","), tc.field) {
					t.Fatalf("details %v do not name %q", detailFields(m), tc.field)
				}
				noSecretIn(t, "the error", r.body, all...)
			})
		}
		expect(t, e.do("POST", "/v1/webhooks", e.readOnly, map[string]any{"name": "y", "preset": "github"}), 403, "forbidden")

		// Stage the next secret, then rotate with a given new next secret.
		r = e.do("PATCH", "/v1/webhooks/gh", adminToken, map[string]any{"next_secret": hookNext, "tolerance_seconds": 60})
		m := expect(t, r, http.StatusOK, "")
		if m["masked_secret"] != "****0001" || m["masked_next_secret"] != "****0002" || m["tolerance_seconds"] != 60.0 {
			t.Fatalf("patched = %s", r.body)
		}
		noSecretIn(t, "the patch response", r.body, all...)
		r = e.do("POST", "/v1/webhooks/gh/rotate", adminToken, map[string]any{"next_secret": hookThird})
		m = expect(t, r, http.StatusOK, "")
		if m["masked_secret"] != "****0002" || m["masked_next_secret"] != "****0003" || m["next_secret"] != nil {
			t.Fatalf("rotated = %s", r.body)
		}
		noSecretIn(t, "the rotate response", r.body, all...)
		e.waitVersion(versionHeader(t, r))
		if w := e.snapshotNow().Policy.Webhooks[0]; w.Secret != hookNext || w.NextSecret != hookThird {
			t.Fatal("the snapshot does not carry the rotated secrets")
		}
		// Rotating without a body generates the next secret and shows it once.
		r = e.do("POST", "/v1/webhooks/gh/rotate", adminToken, nil)
		m = expect(t, r, http.StatusOK, "")
		generated, _ := m["next_secret"].(string)
		if !strings.HasPrefix(generated, "whk_") || m["masked_secret"] != "****0003" || m["masked_next_secret"] != "****"+generated[len(generated)-4:] {
			t.Fatalf("rotated with a generated next secret = %s", r.body)
		}
		all = append(all, generated)

		// Nothing returns a secret afterwards: one, the list, the policy, the audit log.
		for _, path := range []string{"/v1/webhooks/gh", "/v1/webhooks", "/v1/policy", "/v1/audit?limit=100"} {
			r := e.do("GET", path, e.readOnly, nil)
			expect(t, r, http.StatusOK, "")
			noSecretIn(t, path, r.body, all...)
		}
		list := expect(t, e.do("GET", "/v1/webhooks", e.readOnly, nil), 200, "")
		if hooks := list["webhooks"].([]any); len(hooks) != 1 || hooks[0].(map[string]any)["name"] != "gh" {
			t.Fatalf("list = %v", list)
		}
		audit := string(e.do("GET", "/v1/audit?limit=100", e.readOnly, nil).body)
		for _, action := range []string{"webhook.create", "webhook.update", "webhook.rotate"} {
			if !strings.Contains(audit, action) {
				t.Errorf("audit log lacks %s", action)
			}
		}

		// Secrets at rest: not in any row, and not in the database file.
		noSecretIn(t, "the database", dumpDB(t, e), all...)
		if e.dbPath != "" {
			for _, f := range []string{e.dbPath, e.dbPath + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				noSecretIn(t, f, b, all...)
			}
		}

		// Routes bind by name: a missing verifier is refused at PUT, a used one cannot go.
		missing := strings.ReplaceAll(hookRoute, `"webhook":"gh"`, `"webhook":"nope"`)
		m = expect(t, e.do("PUT", "/v1/policy", adminToken, missing, "If-Match", "*"), 422, "invalid_request")
		if !strings.Contains(string(must(t, m)), "POST /v1/webhooks") {
			t.Fatalf("missing verifier error = %v", m)
		}
		withSection := `{"version":1,"webhooks":[{"name":"gh","preset":"github","secret":"` + hookSecret + `"}]}`
		r = e.do("PUT", "/v1/policy", adminToken, withSection, "If-Match", "*")
		if m := expect(t, r, 422, "invalid_request"); detailFields(m)[0] != "webhooks" {
			t.Fatalf("a webhooks section in PUT /v1/policy = %s", r.body)
		}
		noSecretIn(t, "the PUT error", r.body, all...)
		r = e.do("PUT", "/v1/policy", adminToken, hookRoute, "If-Match", "*")
		expect(t, r, http.StatusOK, "")
		noSecretIn(t, "the PUT response", r.body, all...)
		r = e.do("DELETE", "/v1/webhooks/gh", adminToken, nil)
		if m := expect(t, r, http.StatusConflict, "webhook_in_use"); !strings.Contains(m["error"].(string), `"gh-hooks"`) {
			t.Fatalf("delete of a used verifier = %s", r.body)
		}
		expect(t, e.do("PUT", "/v1/policy", adminToken, `{"version":1}`, "If-Match", "*"), http.StatusOK, "")
		r = e.do("DELETE", "/v1/webhooks/gh", adminToken, nil)
		if r.status != http.StatusNoContent {
			t.Fatalf("delete = %d %s", r.status, r.body)
		}
		e.waitVersion(versionHeader(t, r))
		if n := len(e.snapshotNow().Policy.Webhooks); n != 0 {
			t.Fatalf("the deleted verifier is still published (%d)", n)
		}
		expect(t, e.do("GET", "/v1/webhooks/gh", e.readOnly, nil), 404, "not_found")
	})
}

func must(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dumpDB returns every value of the tables that could hold a secret, raw, including the
// signing key column.
func dumpDB(t *testing.T, e *env) []byte {
	t.Helper()
	db := e.store.(interface{ DB() *sql.DB }).DB()
	var out bytes.Buffer
	for _, q := range []string{`SELECT name, secret, secret_hint, next_secret, next_secret_hint FROM webhooks`,
		`SELECT policy, signing_key FROM state`, `SELECT action, before, after FROM audit`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out.Write(v)
				case string:
					out.WriteString(v)
				}
				out.WriteByte('\n')
			}
		}
		rows.Close()
	}
	return out.Bytes()
}

// The signing key column holds a sealed value, not the seed (nor its base64).
func TestSigningKeyColumnIsSealed(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		priv, err := e.svc.SigningKey(bg)
		if err != nil {
			t.Fatal(err)
		}
		var stored []byte
		if err := e.store.Read(bg, func(tx store.Tx) (err error) { stored, err = tx.SigningKey(bg); return }); err != nil {
			t.Fatal(err)
		}
		dump := dumpDB(t, e)
		if bytes.Contains(stored, priv.Seed()) || bytes.Contains(dump, []byte(base64.StdEncoding.EncodeToString(priv.Seed()))) {
			t.Fatal("the signing key is stored in plaintext")
		}
	})
}
