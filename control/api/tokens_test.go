package api_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/admin"
)

func TestTokens(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		// An admin creates another admin, which can then act.
		r := e.do("POST", "/v1/admin-tokens", adminToken, `{"name":"ops","role":"admin"}`)
		created := expect(t, r, http.StatusCreated, "")
		raw := created["token"].(string)
		if !regexp.MustCompile(`^pca_[a-z2-7]{39}$`).MatchString(raw) || created["masked_token"] != raw[:8]+"***" ||
			created["role"] != "admin" || created["kind"] != "admin" || created["created_by"] != admin.BootstrapAdminID {
			t.Fatalf("created token = %v", created)
		}
		if r.header.Get("Location") != "/v1/admin-tokens/"+created["id"].(string) {
			t.Fatalf("Location = %q", r.header.Get("Location"))
		}
		expect(t, e.do("GET", "/v1/keys", raw, nil), http.StatusOK, "")
		list := e.do("GET", "/v1/admin-tokens", e.readOnly, nil)
		if strings.Contains(string(list.body), raw) {
			t.Fatal("token list shows a raw token")
		}
		if n := len(expect(t, list, http.StatusOK, "")["tokens"].([]any)); n != 3 { // bootstrap, viewer, ops
			t.Fatalf("%d admin tokens listed, want 3", n)
		}

		// Data-plane tokens: their own kind and list.
		dp := expect(t, e.do("POST", "/v1/dataplane-tokens", adminToken, `{"name":"envoy-eu"}`), http.StatusCreated, "")
		dpRaw := dp["token"].(string)
		if !strings.HasPrefix(dpRaw, "pcd_") || dp["kind"] != "dataplane" || dp["role"] != nil {
			t.Fatalf("data-plane token = %v", dp)
		}
		expect(t, e.do("GET", "/v1/snapshot?version=0", dpRaw, nil), http.StatusOK, "")
		expect(t, e.do("GET", "/v1/keys", dpRaw, nil), http.StatusForbidden, "forbidden")
		dps := expect(t, e.do("GET", "/v1/dataplane-tokens", adminToken, nil), http.StatusOK, "")
		if n := len(dps["tokens"].([]any)); n != 2 {
			t.Fatalf("%d data-plane tokens, want 2", n)
		}

		// Revocation takes effect on the next request; a token of the other kind is not found.
		expect(t, e.do("DELETE", "/v1/admin-tokens/"+dp["id"].(string), adminToken, nil), http.StatusNotFound, "not_found")
		rev := expect(t, e.do("DELETE", "/v1/dataplane-tokens/"+dp["id"].(string), adminToken, nil), http.StatusOK, "")
		if rev["revoked_at"] == nil {
			t.Fatalf("revoked = %v", rev)
		}
		expect(t, e.do("GET", "/v1/snapshot?version=0", dpRaw, nil), http.StatusUnauthorized, "unauthorized")
		expect(t, e.do("DELETE", "/v1/dataplane-tokens/"+dp["id"].(string), adminToken, nil), http.StatusOK, "")
		expect(t, e.do("DELETE", "/v1/dataplane-tokens/dpt_nope", adminToken, nil), http.StatusNotFound, "not_found")

		// The last admin-role token cannot be revoked; the one before it can.
		expect(t, e.do("DELETE", "/v1/admin-tokens/"+created["id"].(string), adminToken, nil), http.StatusOK, "")
		expect(t, e.do("GET", "/v1/keys", raw, nil), http.StatusUnauthorized, "unauthorized")
		expect(t, e.do("DELETE", "/v1/admin-tokens/"+admin.BootstrapAdminID, adminToken, nil), http.StatusConflict, "last_admin_token")
		expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusOK, "")
	})
}

func TestTokenInputErrors(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
		fields           []string
	}{
		{"missing role", "/v1/admin-tokens", `{"name":"a"}`, 422, "invalid_request", []string{"role"}},
		{"bad role", "/v1/admin-tokens", `{"name":"a","role":"root"}`, 422, "invalid_request", []string{"role"}},
		{"missing name", "/v1/admin-tokens", `{"role":"admin"}`, 422, "invalid_request", []string{"name"}},
		{"long name", "/v1/admin-tokens", `{"name":"` + strings.Repeat("n", 201) + `","role":"admin"}`, 422, "invalid_request", []string{"name"}},
		{"unknown field", "/v1/admin-tokens", `{"name":"a","role":"admin","token":"pca_mine"}`, 422, "invalid_request", []string{"token"}},
		{"data-plane tokens have no role", "/v1/dataplane-tokens", `{"name":"a","role":"admin"}`, 422, "invalid_request", []string{"role"}},
		{"wrong type", "/v1/dataplane-tokens", `{"name":["a"]}`, 422, "invalid_request", []string{"name"}},
		{"malformed", "/v1/dataplane-tokens", `{"name"}`, 400, "malformed_json", []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := expect(t, e.do("POST", tc.path, adminToken, tc.body), tc.status, tc.code)
			if got := detailFields(m); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("detail fields = %v, want %v", got, tc.fields)
			}
		})
	}
}
