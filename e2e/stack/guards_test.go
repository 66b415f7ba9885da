package stack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// TestAdminFlag: the admin flag set through the control API reaches the compiled filter. A key
// created with admin:true passes the route guard "admin": true on every VM; a key without it is
// refused 403 insufficient_scope; granting the flag with PATCH opens the route within a second.
func TestAdminFlag(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := start(t, st.cfg(t), func(c *stack.Config) {
				c.Control.InitialPolicy = []byte(`{"version": 1, "routes": [
					{"name": "admin", "match": {"path_prefix": "/admin"}, "auth": {"type": "api_key"}, "admin": true},
					{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`)
			})
			ctx := context.Background()
			root, _, err := e.api.CreateKey(ctx, stack.NewKey{Name: "root", Admin: true})
			if err != nil {
				t.Fatal(err)
			}
			if !root.Admin || root.Staff {
				t.Fatalf("created key shows admin %v, staff %v", root.Admin, root.Staff)
			}
			plain := e.createKey(t, "plain")
			// Snapshots apply in order, so once the later key passes on every VM, both are there.
			e.waitStatus(t, plain.Key, http.StatusOK, time.Now(), publishLimit)

			for range settle {
				if status, _, body := e.request(t, "/admin/users", root.Key); status != http.StatusOK || body["headers"].(map[string]any)["x-portcullis-key-id"] != root.ID {
					t.Fatalf("admin key on the admin route: %d %v", status, body)
				}
				status, h, body := e.request(t, "/admin/users", plain.Key)
				if status != http.StatusForbidden || body["code"] != "insufficient_scope" ||
					h.Get("WWW-Authenticate") != `Bearer realm="portcullis", error="insufficient_scope"` {
					t.Fatalf("key without the flag on the admin route: %d %v %v", status, h, body)
				}
				if status, _, _ := e.request(t, "/anything", plain.Key); status != http.StatusOK {
					t.Fatalf("key without the flag on an unguarded route: %d", status)
				}
			}

			t0 := time.Now()
			k, version, err := e.api.PatchKey(ctx, plain.ID, map[string]any{"admin": true})
			if err != nil || !k.Admin || version == 0 {
				t.Fatalf("PATCH admin: %+v, version %d, %v", k, version, err)
			}
			took := e.waitPathStatus(t, "/admin/users", plain.Key, http.StatusOK, t0, publishLimit)
			t.Logf("admin flag granted → allowed on every VM in %v", took)
		})
	}
}

// request sends GET path through the gateway with the key and returns the status, the
// response headers and the JSON body (the echo upstream's, or the filter's denial).
func (e env) request(t testing.TB, path, key string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.GatewayURL()+path, nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d, body %q is not JSON", path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, m
}
