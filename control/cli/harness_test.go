package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/api"
	"github.com/portcullis/portcullis/control/server"
)

const testAdminToken = "pca_cli_test_admin_token_0000000"

// harness is a real control server (SQLite in a temp dir) and the CLI run in-process against it.
type harness struct {
	t    *testing.T
	dir  string
	env  map[string]string
	vars map[string]string // values captured from earlier steps, substituted as {name}
	// secrets must never appear in any output of any step (the admin token always).
	secrets []string
	// afterPlan is handed to the next run (a concurrent change between read and write).
	afterPlan func()
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Start(ctx, server.Config{
		Addr: "127.0.0.1:0", DataPath: filepath.Join(dir, "data", "p.db"), AdminToken: testAdminToken,
		RateLimit: api.RateLimit{AdminRate: 1e6, AdminBurst: 1e6, DataplaneRate: 1e6, DataplaneBurst: 1e6, AnonymousRate: 1e6, AnonymousBurst: 1e6},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	return &harness{t: t, dir: dir, vars: map[string]string{}, secrets: []string{testAdminToken},
		env: map[string]string{"PORTCULLIS_ADDR": "http://" + s.Addr(), "PORTCULLIS_TOKEN": testAdminToken}}
}

// offline is a harness without a server, for local commands.
func offline(t *testing.T) *harness {
	return &harness{t: t, dir: t.TempDir(), env: map[string]string{}, vars: map[string]string{}}
}

// file writes a file in the harness's directory with mode 0600 and returns its path.
func (h *harness) file(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// run runs the CLI with args ({name} replaced by captured values) and returns its exit code,
// stdout and stderr.
func (h *harness) run(stdin string, args ...string) (int, string, string) {
	h.t.Helper()
	for i, a := range args {
		for k, v := range h.vars {
			a = strings.ReplaceAll(a, "{"+k+"}", v)
		}
		args[i] = a
	}
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return h.env[k] }, ConfigPath: filepath.Join(h.dir, "no-config")}
	a := &app{env: env, afterPlan: h.afterPlan}
	h.afterPlan = nil
	code := a.main(context.Background(), args)
	return code, out.String(), errb.String()
}

// step is one CLI invocation and what a user would see.
type step struct {
	name   string
	stdin  string
	args   []string
	code   int
	out    []string // substrings stdout must contain
	notOut []string // substrings stdout must not contain
	errOut []string // substrings stderr must contain
	// capture sets vars[name] from the first submatch of the regexp in stdout.
	capture map[string]string
}

func (h *harness) steps(steps []step) {
	h.t.Helper()
	for _, s := range steps {
		code, out, errOut := h.run(s.stdin, s.args...)
		fail := func(format string, args ...any) {
			h.t.Helper()
			h.t.Fatalf("%s: portcullis %s: "+format+"\nstdout:\n%s\nstderr:\n%s", append(append([]any{s.name, strings.Join(s.args, " ")}, args...), out, errOut)...)
		}
		if code != s.code {
			fail("exit code %d, want %d", code, s.code)
		}
		for _, secret := range h.secrets {
			if strings.Contains(out+errOut, secret) {
				fail("a secret was printed: %.8s…", secret)
			}
		}
		for _, want := range s.out {
			if !strings.Contains(out, h.sub(want)) {
				fail("stdout lacks %q", h.sub(want))
			}
		}
		for _, bad := range s.notOut {
			if strings.Contains(out, h.sub(bad)) {
				fail("stdout has %q", h.sub(bad))
			}
		}
		for _, want := range s.errOut {
			if !strings.Contains(errOut, h.sub(want)) {
				fail("stderr lacks %q", h.sub(want))
			}
		}
		for name, re := range s.capture {
			m := regexp.MustCompile(re).FindStringSubmatch(out)
			if m == nil {
				fail("nothing matches %s for {%s}", re, name)
			}
			h.vars[name] = m[1]
		}
	}
}

func (h *harness) sub(s string) string {
	for k, v := range h.vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// waitPublished waits until the snapshot of the latest change is published (changes publish
// asynchronously; evaluate judges the published snapshot).
func (h *harness) waitPublished() {
	h.t.Helper()
	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", h.env["PORTCULLIS_ADDR"]+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			h.t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	want := get("/v1/audit?limit=1")["entries"].([]any)[0].(map[string]any)["version"].(float64)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if v, _ := get("/readyz")["snapshot_version"].(float64); v >= want {
			return
		}
	}
	h.t.Fatalf("snapshot version %v never published", want)
}

// jsonOut decodes a command's JSON output.
func jsonOut(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, out)
	}
	return m
}
