package api_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/auth"
)

func TestKeyLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		r := e.do("POST", "/v1/keys", adminToken, map[string]any{
			"name": "ci", "allowed_paths": []string{"/api/builds"}, "permissions": []string{"builds:read"}, "expires_at": "2031-01-01T00:00:00Z",
			"admin": true})
		created := expect(t, r, http.StatusCreated, "")
		raw := created["key"].(string)
		id := created["id"].(string)
		if !regexp.MustCompile(`^pcs_[a-z2-7]{39}$`).MatchString(raw) {
			t.Fatalf("raw key %q", raw)
		}
		if created["masked_key"] != raw[:8]+"***" || created["status"] != "active" || created["active"] != true ||
			created["expires_at"] != "2031-01-01T00:00:00Z" || created["last_used_at"] != nil || created["created_at"] != "2030-01-02T03:04:05Z" ||
			created["admin"] != true || created["staff"] != false {
			t.Fatalf("created key = %v", created)
		}
		if loc := r.header.Get("Location"); loc != "/v1/keys/"+id {
			t.Fatalf("Location = %q", loc)
		}
		v1 := versionHeader(t, r)
		if v1 < 2 {
			t.Fatalf("version header = %d", v1)
		}

		// The raw key is never shown again, nor its hash.
		for _, path := range []string{"/v1/keys", "/v1/keys/" + id, "/v1/audit"} {
			got := e.do("GET", path, adminToken, nil)
			if strings.Contains(string(got.body), raw) || strings.Contains(string(got.body), auth.Hash(raw)) {
				t.Fatalf("%s shows the key or its hash: %s", path, got.body)
			}
		}
		list := expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusOK, "")
		keys := list["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["masked_key"] != raw[:8]+"***" || list["next_cursor"] != nil {
			t.Fatalf("list = %v", list)
		}

		// The snapshot carries the hash, never the key.
		e.waitVersion(v1)
		s := e.snapshotNow()
		if len(s.Policy.Keys) != 1 || s.Policy.Keys[0].ID != id || s.Policy.Keys[0].SHA256 != auth.Hash(raw) || !s.Policy.Keys[0].Active ||
			!s.Policy.Keys[0].Admin || s.Policy.Keys[0].Staff {
			t.Fatalf("snapshot keys = %+v", s.Policy.Keys)
		}

		// PATCH each field.
		r = e.do("PATCH", "/v1/keys/"+id, adminToken, map[string]any{"name": "ci-2", "active": false, "permissions": []string{},
			"allowed_paths": nil, "expires_at": nil, "admin": false, "staff": true})
		patched := expect(t, r, http.StatusOK, "")
		if patched["name"] != "ci-2" || patched["active"] != false || patched["status"] != "inactive" || patched["expires_at"] != nil ||
			len(patched["permissions"].([]any)) != 0 || len(patched["allowed_paths"].([]any)) != 0 || patched["admin"] != false || patched["staff"] != true {
			t.Fatalf("patched = %v", patched)
		}
		v2 := versionHeader(t, r)
		if v2 <= v1 {
			t.Fatalf("patch version %d, after %d", v2, v1)
		}
		e.waitVersion(v2)
		if k := e.snapshotNow().Policy.Keys[0]; k.Active || k.Name != "ci-2" || !k.ExpiresAt.IsZero() || k.Admin || !k.Staff {
			t.Fatalf("snapshot key after patch = %+v", k)
		}
		// A flag alone is a change: it publishes a new version that carries it.
		r = e.do("PATCH", "/v1/keys/"+id, adminToken, map[string]any{"admin": true})
		if got := expect(t, r, http.StatusOK, ""); got["admin"] != true || got["staff"] != true {
			t.Fatalf("after PATCH admin = %v", got)
		}
		v2 = versionHeader(t, r)
		if v2 == 0 {
			t.Fatal("PATCH of the admin flag published nothing")
		}
		e.waitVersion(v2)
		if k := e.snapshotNow().Policy.Keys[0]; !k.Admin || !k.Staff {
			t.Fatalf("snapshot key after PATCH admin = %+v", k)
		}
		// The same patch again changes nothing and publishes nothing.
		r = e.do("PATCH", "/v1/keys/"+id, adminToken, map[string]any{"name": "ci-2"})
		expect(t, r, http.StatusOK, "")
		if v := versionHeader(t, r); v != 0 {
			t.Fatalf("no-op patch published version %d", v)
		}
		got := expect(t, e.do("GET", "/v1/keys/"+id, adminToken, nil), http.StatusOK, "")
		if got["name"] != "ci-2" || got["updated_at"] != patched["updated_at"] {
			t.Fatalf("GET after patch = %v", got)
		}

		// DELETE revokes: the key leaves the snapshot; again is a no-op; PATCH is refused.
		r = e.do("DELETE", "/v1/keys/"+id, adminToken, nil)
		revoked := expect(t, r, http.StatusOK, "")
		if revoked["status"] != "revoked" || revoked["revoked_at"] == nil {
			t.Fatalf("revoked = %v", revoked)
		}
		v3 := versionHeader(t, r)
		e.waitVersion(v3)
		if keys := e.snapshotNow().Policy.Keys; len(keys) != 0 {
			t.Fatalf("revoked key still published: %+v", keys)
		}
		r = e.do("DELETE", "/v1/keys/"+id, adminToken, nil)
		expect(t, r, http.StatusOK, "")
		if v := versionHeader(t, r); v != 0 {
			t.Fatalf("second revoke published version %d", v)
		}
		expect(t, e.do("PATCH", "/v1/keys/"+id, adminToken, map[string]any{"active": true}), http.StatusConflict, "key_revoked")
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			expect(t, e.do(m, "/v1/keys/key_nope", adminToken, `{"name":"x"}`), http.StatusNotFound, "not_found")
		}
	})
}

func TestKeyListPaging(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		var ids []string
		for i := range 5 {
			m, _ := e.createKey(map[string]any{"name": "k" + string(rune('a'+i))})
			ids = append(ids, m["id"].(string))
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			path := "/v1/keys?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			m := expect(t, e.do("GET", path, e.readOnly, nil), http.StatusOK, "")
			for _, k := range m["keys"].([]any) {
				got = append(got, k.(map[string]any)["id"].(string))
			}
			if m["next_cursor"] == nil {
				if pages != 2 {
					t.Fatalf("%d pages, want 3", pages+1)
				}
				break
			}
			cursor = m["next_cursor"].(string)
		}
		if !reflect.DeepEqual(got, ids) {
			t.Fatalf("paged ids = %v, want %v", got, ids)
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=0", "cursor=abc", "cursor=-3"} {
			m := expect(t, e.do("GET", "/v1/keys?"+q, adminToken, nil), http.StatusBadRequest, "invalid_parameter")
			field := strings.Split(q, "=")[0]
			if f := detailFields(m); len(f) != 1 || f[0] != field {
				t.Errorf("%s: details %v, want field %s", q, f, field)
			}
		}
	})
}

func TestKeyInputErrors(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	existing, _ := e.createKey(map[string]any{"name": "x"})
	keyPath := "/v1/keys/" + existing["id"].(string)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
		fields                   []string
	}{
		{"malformed JSON", "POST", "/v1/keys", `{"name":`, 400, "malformed_json", []string{""}},
		{"trailing data", "POST", "/v1/keys", `{"name":"a"} x`, 400, "malformed_json", []string{""}},
		{"empty body", "POST", "/v1/keys", ``, 400, "empty_body", nil},
		{"not an object", "POST", "/v1/keys", `["a"]`, 422, "invalid_request", []string{""}},
		{"unknown field", "POST", "/v1/keys", `{"name":"a","colour":"red"}`, 422, "invalid_request", []string{"colour"}},
		{"duplicate field", "POST", "/v1/keys", `{"name":"a","name":"b"}`, 422, "invalid_request", []string{"name"}},
		{"wrong type", "POST", "/v1/keys", `{"name":5,"active":"yes"}`, 422, "invalid_request", []string{"name", "active"}},
		{"flags not booleans", "POST", "/v1/keys", `{"name":"a","admin":"yes","staff":1}`, 422, "invalid_request", []string{"admin", "staff"}},
		{"null flag", "POST", "/v1/keys", `{"name":"a","admin":null}`, 422, "invalid_request", []string{"admin"}},
		{"missing name", "POST", "/v1/keys", `{"permissions":["a"]}`, 422, "invalid_request", []string{"name"}},
		{"empty name", "POST", "/v1/keys", `{"name":""}`, 422, "invalid_request", []string{"name"}},
		{"control character in name", "POST", "/v1/keys", `{"name":"a\u0007b"}`, 422, "invalid_request", []string{"name"}},
		{"invalid allowed path", "POST", "/v1/keys", `{"name":"a","allowed_paths":["/ok","nope"]}`, 422, "invalid_request", []string{"allowed_paths[1]"}},
		{"duplicate allowed path", "POST", "/v1/keys", `{"name":"a","allowed_paths":["/a","/a"]}`, 422, "invalid_request", []string{"allowed_paths[1]"}},
		{"non-string permission", "POST", "/v1/keys", `{"name":"a","permissions":["read",7]}`, 422, "invalid_request", []string{"permissions[1]"}},
		{"invalid permission", "POST", "/v1/keys", `{"name":"a","permissions":["has space"]}`, 422, "invalid_request", []string{"permissions[0]"}},
		{"expiry in the past", "POST", "/v1/keys", `{"name":"a","expires_at":"2020-01-01T00:00:00Z"}`, 422, "invalid_request", []string{"expires_at"}},
		{"expiry not a time", "POST", "/v1/keys", `{"name":"a","expires_at":"tomorrow"}`, 422, "invalid_request", []string{"expires_at"}},
		{"every problem at once", "POST", "/v1/keys", `{"name":"","allowed_paths":["x"],"permissions":[" "],"expires_at":"2001-01-01T00:00:00Z"}`, 422, "invalid_request",
			[]string{"name", "expires_at", "allowed_paths[0]", "permissions[0]"}},
		// Decoding problems and what validation finds in the fields that did decode come back
		// together (decoding first); a field that failed to decode is not reported again.
		{"decoding and validation problems at once", "POST", "/v1/keys", `{"name":"a","active":"yes","allowed_paths":["nope"],"permissions":["has space"]}`,
			422, "invalid_request", []string{"active", "allowed_paths[0]", "permissions[0]"}},
		{"a field that failed to decode is reported once", "POST", "/v1/keys", `{"name":5,"colour":"red","expires_at":"2001-01-01T00:00:00Z"}`,
			422, "invalid_request", []string{"name", "colour", "expires_at"}},
		{"a list that failed to decode is reported once", "POST", "/v1/keys", `{"name":"a","permissions":["ok",7,"has space"],"allowed_paths":"/x"}`,
			422, "invalid_request", []string{"permissions[1]", "allowed_paths"}},
		{"patch decoding and validation problems at once", "PATCH", keyPath, `{"active":1,"allowed_paths":["/a/../b"],"name":""}`,
			422, "invalid_request", []string{"active", "name", "allowed_paths[0]"}},
		{"empty patch", "PATCH", keyPath, `{}`, 422, "invalid_request", []string{""}},
		{"patch unknown field", "PATCH", keyPath, `{"key":"pcs_x"}`, 422, "invalid_request", []string{"key"}},
		{"patch wrong type", "PATCH", keyPath, `{"active":1}`, 422, "invalid_request", []string{"active"}},
		{"patch flag not a boolean", "PATCH", keyPath, `{"admin":"true","staff":null}`, 422, "invalid_request", []string{"admin", "staff"}},
		{"patch invalid path", "PATCH", keyPath, `{"allowed_paths":["/a/../b"]}`, 422, "invalid_request", []string{"allowed_paths[0]"}},
		{"patch malformed", "PATCH", keyPath, `{`, 400, "malformed_json", []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := expect(t, e.do(tc.method, tc.path, adminToken, tc.body), tc.status, tc.code)
			if got := detailFields(m); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("detail fields = %v, want %v (body %v)", got, tc.fields, m)
			}
		})
	}
	// Nothing was stored by any of them.
	list := expect(t, e.do("GET", "/v1/keys", adminToken, nil), http.StatusOK, "")
	if n := len(list["keys"].([]any)); n != 1 {
		t.Fatalf("%d keys after rejected requests, want 1", n)
	}
	if got := expect(t, e.do("GET", keyPath, adminToken, nil), http.StatusOK, ""); got["name"] != "x" {
		t.Fatalf("key changed by rejected patches: %v", got)
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	for _, tc := range []struct{ method, path string }{{"POST", "/v1/keys"}, {"PUT", "/v1/policy"}, {"POST", "/v1/evaluate"}} {
		expect(t, e.do(tc.method, tc.path, adminToken, big, "If-Match", "*"), http.StatusRequestEntityTooLarge, "body_too_large")
	}
}
