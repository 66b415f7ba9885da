package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/store"
)

func hashOf(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// importState is what an import may change: the keys, the snapshot version and the audit log.
type importState struct {
	keys, audit int
	version     uint64
}

func (e *env) importState(t *testing.T) importState {
	t.Helper()
	keys := expect(t, e.do("GET", "/v1/keys?limit=1000", e.readOnly, nil), http.StatusOK, "")["keys"].([]any)
	audit := expect(t, e.do("GET", "/v1/audit?limit=1000", e.readOnly, nil), http.StatusOK, "")["entries"].([]any)
	var st store.State
	if err := e.store.Read(context.Background(), func(tx store.Tx) (err error) { st, err = tx.State(context.Background()); return }); err != nil {
		t.Fatal(err)
	}
	return importState{keys: len(keys), audit: len(audit), version: st.Version}
}

// A bad import is refused as a whole: every problem with its line number in one answer, and
// nothing stored, audited or published.
func TestImportKeysRefused(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		expect(t, e.do("PUT", "/v1/policy", adminToken, tieredPolicy, "If-Match", "*"), http.StatusOK, "")
		stored, _ := e.createKey(map[string]any{"name": "stored"})
		storedHash := e.snapshotNow().Policy.Keys[0].SHA256
		good := func(n int) string {
			return fmt.Sprintf(`{"name":"k%d","sha256":%q}`, n, hashOf(fmt.Sprint("raw", n)))
		}
		tests := []struct {
			name string
			body string
			// want are the detail fields, in order.
			want []string
		}{
			{"malformed JSON", good(1) + "\n" + good(2) + "\n{\"name\": \n", []string{"line[3]"}},
			{"several bad lines", good(1) + "\n" + `{"name":"x"}` + "\n" + good(3) + "\n" +
				`{"name":"y","sha256":"zz","tier":"platinum","nope":1}`,
				[]string{"line[2].sha256", "line[4].nope", "line[4].tier", "line[4].sha256"}},
			{"hash repeated in the file", good(1) + "\n" + good(2) + "\n" +
				strings.Replace(good(1), `"k1"`, `"again"`, 1), []string{"line[3].sha256"}},
			{"hash repeated in upper case", good(1) + "\n" + fmt.Sprintf(`{"name":"k2","sha256":%q}`, strings.ToUpper(hashOf("raw1"))),
				[]string{"line[2].sha256"}},
			{"hash of a stored key", good(1) + "\n" + fmt.Sprintf(`{"name":"dup","sha256":%q}`, storedHash), []string{"line[2].sha256"}},
			{"id repeated in the file", `{"id":"key_a","name":"a","sha256":"` + hashOf("a") + `"}` + "\n" +
				`{"id":"key_a","name":"b","sha256":"` + hashOf("b") + `"}`, []string{"line[2].id"}},
			{"id of a stored key", fmt.Sprintf(`{"id":%q,"name":"a","sha256":%q}`, stored["id"], hashOf("a")), []string{"line[1].id"}},
			{"not an object", good(1) + "\n[1,2]\n", []string{"line[2]"}},
			{"over-long line", good(1) + "\n" + `{"name":"` + strings.Repeat("x", 70<<10) + `"}` + "\n" + good(3), []string{"line[2]"}},
			{"empty", "\n\n", []string{""}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.importState(t)
				r := e.do("POST", "/v1/keys:import", adminToken, tc.body, "Content-Type", "application/jsonl")
				m := expect(t, r, http.StatusUnprocessableEntity, "invalid_request")
				if got := detailFields(m); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("detail fields %q, want %q; body %s", got, tc.want, r.body)
				}
				if after := e.importState(t); after != before {
					t.Errorf("a refused import changed the state: %+v → %+v", before, after)
				}
			})
		}
	})
}

// A good import stores every key in one version with one audit entry; the keys are published
// and authenticate like keys created one by one.
func TestImportKeys(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		expect(t, e.do("PUT", "/v1/policy", adminToken, tieredPolicy, "If-Match", "*"), http.StatusOK, "")
		before := e.importState(t)
		body := fmt.Sprintf(`{"id":"key_imported_1","name":"one","sha256":%q,"tier":"gold","permissions":["read"],"staff":true}

{"name":"two","sha256":%q,"allowed_paths":["/x"],"expires_at":"2099-01-01T00:00:00Z","active":false}
{"name":"three","sha256":%q}`, hashOf("raw-one"), strings.ToUpper(hashOf("raw-two")), hashOf("raw-three"))
		r := e.do("POST", "/v1/keys:import", adminToken, body)
		m := expect(t, r, http.StatusOK, "")
		v := versionHeader(t, r)
		if m["imported"] != float64(3) || v != before.version+1 || m["snapshot_version"] != float64(v) {
			t.Fatalf("import answer %s, version header %d (was %d)", r.body, v, before.version)
		}
		e.waitVersion(v)
		after := e.importState(t)
		if after.keys != before.keys+3 || after.audit != before.audit+1 {
			t.Fatalf("state %+v → %+v: want 3 more keys and exactly one audit entry", before, after)
		}
		entry := expect(t, e.do("GET", "/v1/audit?limit=1", e.readOnly, nil), http.StatusOK, "")["entries"].([]any)[0].(map[string]any)
		if entry["action"] != "key.import" || entry["version"] != float64(v) || !strings.Contains(fmt.Sprint(entry["after"]), "imported:3") {
			t.Fatalf("audit entry %v", entry)
		}
		k := expect(t, e.do("GET", "/v1/keys/key_imported_1", e.readOnly, nil), http.StatusOK, "")
		if k["tier"] != "gold" || k["staff"] != true || k["status"] != "active" || fmt.Sprint(k["permissions"]) != "[read]" {
			t.Fatalf("imported key %v", k)
		}
		byName := map[string]string{}
		for _, k := range e.snapshotNow().Policy.Keys {
			byName[k.Name] = k.SHA256
		}
		if byName["two"] != hashOf("raw-two") || byName["three"] != hashOf("raw-three") {
			t.Fatalf("published hashes %v", byName)
		}
		for _, tc := range []struct {
			raw   string
			allow bool
			key   string
		}{{"raw-one", true, "key_imported_1"}, {"raw-two", false, ""}, {"raw-three", true, ""}} {
			got := expect(t, e.do("POST", "/v1/evaluate", e.readOnly, map[string]any{"method": "GET", "path": "/x",
				"headers": map[string]string{"x-api-key": tc.raw}}), http.StatusOK, "")
			if got["allow"] != tc.allow || (tc.key != "" && got["key_id"] != tc.key) {
				t.Errorf("evaluate with %s: %v", tc.raw, got)
			}
		}
		// Importing the same file again conflicts with what it stored.
		r = e.do("POST", "/v1/keys:import", adminToken, body)
		if got := detailFields(expect(t, r, http.StatusUnprocessableEntity, "invalid_request")); !reflect.DeepEqual(got,
			[]string{"line[1].id", "line[1].sha256", "line[3].sha256", "line[4].sha256"}) {
			t.Fatalf("re-import: %s", r.body)
		}
		// A read-only token may not import.
		expect(t, e.do("POST", "/v1/keys:import", e.readOnly, body), http.StatusForbidden, "")
	})
}

// An import of several batches is refused as a whole too: a stored id or hash in the middle of
// a later batch (after earlier batches were written), at the very last line, a line repeated
// across batches, a bad last line; problems found while reading lines and problems found while
// storing them come out in line order; past strictjson.MaxErrors the first lines' are kept.
func TestImportKeysRefusedAcrossBatches(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		stored, _ := e.createKey(map[string]any{"name": "stored"})
		storedHash := e.snapshotNow().Policy.Keys[0].SHA256
		const n = 4500 // batches of 2,000: two full ones and part of a third
		lines := func(edit map[int]string) string {
			var b strings.Builder
			for i := 1; i <= n; i++ {
				if l, ok := edit[i]; ok {
					b.WriteString(l)
				} else {
					fmt.Fprintf(&b, `{"id":"key_many_%d","name":"k%d","sha256":%q}`, i, i, hashOf(fmt.Sprint("many", i)))
				}
				b.WriteString("\n")
			}
			return b.String()
		}
		withHash := func(i int, hash string) string {
			return fmt.Sprintf(`{"id":"key_many_%d","name":"k%d","sha256":%q}`, i, i, hash)
		}
		// 27 problems: two found while storing (a stored id, a stored hash), 25 while reading.
		many := map[int]string{150: fmt.Sprintf(`{"id":%q,"name":"x","sha256":%q}`, stored["id"], hashOf("x")), 3001: withHash(3001, storedHash)}
		for i := 200; len(many) < 27; i += 160 {
			many[i] = withHash(i, "zz")
		}
		var wantMany []string
		for i := 1; i <= n && len(wantMany) < 20; i++ {
			switch {
			case i == 150:
				wantMany = append(wantMany, "line[150].id")
			case many[i] != "":
				wantMany = append(wantMany, fmt.Sprintf("line[%d].sha256", i))
			}
		}
		tests := []struct {
			name string
			edit map[int]string
			want []string
			// more is the count of problems left out, 0 if none.
			more int
		}{
			{"stored hash mid-way through the second batch", map[int]string{3001: withHash(3001, storedHash)}, []string{"line[3001].sha256"}, 0},
			{"stored id at the last line", map[int]string{n: fmt.Sprintf(`{"id":%q,"name":"last","sha256":%q}`, stored["id"], hashOf("last"))},
				[]string{fmt.Sprintf("line[%d].id", n)}, 0},
			{"malformed last line", map[int]string{n: `{"name":"last",`}, []string{fmt.Sprintf("line[%d]", n)}, 0},
			{"hash repeated in a later batch", map[int]string{4000: withHash(4000, hashOf("many10"))}, []string{"line[4000].sha256"}, 0},
			{"a bad line, then a stored hash in a later batch", map[int]string{5: `{"id":"key_many_5","name":"k5","sha256":"zz"}`,
				3001: withHash(3001, storedHash)}, []string{"line[5].sha256", "line[3001].sha256"}, 0},
			{"more problems than are listed", many, wantMany, 7},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.importState(t)
				r := e.do("POST", "/v1/keys:import", adminToken, lines(tc.edit), "Content-Type", "application/jsonl")
				m := expect(t, r, http.StatusUnprocessableEntity, "invalid_request")
				details, _ := m["details"].([]any)
				var fields []string
				more := 0
				for _, d := range details {
					d := d.(map[string]any)
					if f, _ := d["field"].(string); f != "" {
						fields = append(fields, f)
					} else if _, err := fmt.Sscanf(fmt.Sprint(d["message"]), "and %d more problems", &more); err != nil {
						t.Errorf("detail %v", d)
					}
				}
				if !reflect.DeepEqual(fields, tc.want) || more != tc.more {
					t.Errorf("detail fields %q and %d more, want %q and %d more; body %.600s", fields, more, tc.want, tc.more, r.body)
				}
				if after := e.importState(t); after != before {
					t.Errorf("a refused import changed the state: %+v → %+v", before, after)
				}
			})
		}
		// The same file without the problems is stored whole, after all those refusals.
		r := e.do("POST", "/v1/keys:import", adminToken, lines(nil), "Content-Type", "application/jsonl")
		if m := expect(t, r, http.StatusOK, ""); m["imported"] != float64(n) {
			t.Fatalf("import answer %s", r.body)
		}
	})
}

// TestKeyLimit: a key created or imported past the number of live keys allowed is refused with
// 409 too_many_keys, and nothing is stored, audited or published; a revoked key makes room.
func TestKeyLimit(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{maxKeys: 3})
		var ids []string
		for i := range 2 {
			k, _ := e.createKey(map[string]any{"name": fmt.Sprint("k", i)})
			ids = append(ids, k["id"].(string))
		}
		line := func(n int) string {
			return fmt.Sprintf(`{"name":"i%d","sha256":%q}`, n, hashOf(fmt.Sprint("import", n)))
		}
		refused := func(name string, r response) {
			t.Helper()
			before := e.importState(t)
			if m := expect(t, r, http.StatusConflict, "too_many_keys"); !strings.Contains(m["error"].(string), "at most 3 keys") {
				t.Errorf("%s: message %q", name, m["error"])
			}
			if after := e.importState(t); after != before {
				t.Errorf("%s: a refused request changed the state: %+v → %+v", name, before, after)
			}
		}
		refused("an import of two past the limit", e.do("POST", "/v1/keys:import", adminToken, line(1)+"\n"+line(2), "Content-Type", "application/jsonl"))
		expect(t, e.do("POST", "/v1/keys:import", adminToken, line(3), "Content-Type", "application/jsonl"), http.StatusOK, "") // the third: at the limit
		refused("a key past the limit", e.do("POST", "/v1/keys", adminToken, map[string]any{"name": "fourth"}))
		expect(t, e.do("DELETE", "/v1/keys/"+ids[0], adminToken, nil), http.StatusOK, "")
		e.createKey(map[string]any{"name": "after a revocation"})
	})
}
